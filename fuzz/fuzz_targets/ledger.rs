//! The preview ledger document: any JSON either decodes strictly into records that are written back and read
//! again unchanged, or is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wildside_tofu::preview::{decode, encode};

fuzz_target!(|data: &[u8]| {
    // Vault hands the document over as JSON; text that is no JSON never reaches the decoder.
    let Ok(document) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let length = document["records"].as_array().map(Vec::len);
    let Ok(records) = decode(document) else {
        return;
    };
    assert_eq!(Some(records.len()), length, "every record is kept");
    let written = encode(&records);
    let read = decode(written).expect("a written ledger reads back");
    assert_eq!(read, records);
});
