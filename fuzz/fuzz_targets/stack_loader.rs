//! Stack files: any text either loads into a stack or is refused with an error located inside the file.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use wildside_tofu::stack::parse_stack;

fuzz_target!(|data: &[u8]| {
    // Stack files are read as UTF-8 text; anything else is refused before parsing.
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(error) = parse_stack(
        Path::new("stacks/fuzz.toml"),
        source,
        &["example".to_string()],
    ) {
        let lines = source.lines().count().max(1);
        assert!(
            error.line <= lines + 1,
            "line {} of {lines}: {}",
            error.line,
            error.message
        );
        assert!(!error.message.is_empty());
    }
});
