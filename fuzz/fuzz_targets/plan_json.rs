//! `tofu show -json` plans: any document decodes into a summary ordered by address, with a digest per change,
//! or is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wildside_tofu::engine::{DigestKey, PlanSummary, ResourceAction};

const ACTIONS: [ResourceAction; 6] = [
    ResourceAction::Create,
    ResourceAction::Update,
    ResourceAction::Replace,
    ResourceAction::Delete,
    ResourceAction::Read,
    ResourceAction::Forget,
];

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(summary) = PlanSummary::from_show_json(json, &DigestKey::from_bytes(b"fuzz")) else {
        return;
    };
    assert!(
        summary
            .changes
            .windows(2)
            .all(|pair| pair[0].address <= pair[1].address)
    );
    let counted: usize = ACTIONS.iter().map(|action| summary.count(*action)).sum();
    assert_eq!(counted, summary.changes.len());
    for change in &summary.changes {
        let digest = change.digest.as_deref().unwrap_or_default();
        assert!(digest.len() == 64 && digest.bytes().all(|byte| byte.is_ascii_hexdigit()));
    }
});
