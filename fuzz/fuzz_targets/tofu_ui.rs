//! tofu's JSON UI stream: any line decodes into an event (text that is no message becomes a log line) or is
//! refused as an unsupported UI version.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wildside_tofu::engine::{UiEvent, parse_line};

fuzz_target!(|data: &[u8]| {
    // The stream is read line by line as UTF-8 text.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.lines() {
        let event = parse_line(line);
        // Syntax only: a `Value` would read serde_json's raw-value marker key as a marker, not as a key.
        if serde_json::from_str::<&serde_json::value::RawValue>(line).is_err() {
            assert!(
                matches!(&event, Ok(UiEvent::Log { message }) if message == line),
                "{line:?} is no JSON, yet decoded as {event:?}"
            );
        }
    }
});
