//! The parsers of what tofu prints, fed arbitrary and damaged input: the JSON UI stream and `show -json`
//! plans either decode or are refused, never a panic.

use proptest::prelude::*;
use wildside_tofu::engine::{DigestKey, PlanSummary, parse_line};

/// Real lines of tofu's JSON UI, as a base to damage.
const UI_LINES: &[&str] = &[
    r#"{"@level":"info","@message":"OpenTofu 1.12.6","@module":"tofu.ui","@timestamp":"2026-11-25T06:00:00Z","terraform":"1.12.6","type":"version","ui":"1.2"}"#,
    r#"{"@level":"info","@message":"module.x.terraform_data.y: Plan to create","@module":"tofu.ui","change":{"resource":{"addr":"module.x.terraform_data.y","module":"module.x","resource":"terraform_data.y","implied_provider":"terraform","resource_type":"terraform_data","resource_name":"y","resource_key":null},"action":"create"},"type":"planned_change"}"#,
    r#"{"@level":"info","@message":"module.x.terraform_data.y: Creating...","change":{},"hook":{"resource":{"addr":"module.x.terraform_data.y"},"action":"create"},"type":"apply_start"}"#,
    r#"{"@level":"error","@message":"Error: Invalid value","diagnostic":{"severity":"error","summary":"Invalid value","detail":"bad","address":"module.x"},"type":"diagnostic"}"#,
    r#"{"@level":"info","@message":"Plan: 1 to add","changes":{"add":1,"change":0,"import":0,"remove":0,"operation":"plan"},"type":"change_summary"}"#,
];

/// A plan as `show -json` prints it, as a base to damage.
const PLAN: &str = r#"{"format_version":"1.2","terraform_version":"1.12.6","resource_changes":[{"address":"module.x.terraform_data.y","mode":"managed","type":"terraform_data","name":"y","change":{"actions":["create"],"before":null,"after":{"input":"x"},"after_unknown":{"id":true},"before_sensitive":false,"after_sensitive":{}}},{"address":"module.x.terraform_data.z","mode":"managed","type":"terraform_data","name":"z","change":{"actions":["delete","create"],"before":{},"after":{},"after_unknown":{},"before_sensitive":{},"after_sensitive":{}}}],"output_changes":{"o":{"actions":["update"],"before":"a","after":"b","after_unknown":false,"before_sensitive":false,"after_sensitive":false}}}"#;

/// `text` with `cut` bytes removed at `at` and `insert` put there (on character boundaries).
fn damaged(text: &str, at: usize, cut: usize, insert: &str) -> String {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let mut end = (at + cut).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{insert}{}", &text[..at], &text[end..])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn ui_lines_decode_or_are_refused(
        index in 0..UI_LINES.len(),
        at in 0usize..400,
        cut in 0usize..12,
        insert in "[\\[\\]{}\":,a-z0-9 \\\\]{0,6}",
    ) {
        let _ = parse_line(&damaged(UI_LINES[index], at, cut, &insert));
    }

    #[test]
    fn arbitrary_text_is_no_ui_line_to_panic_on(text in "\\PC{0,80}") {
        let _ = parse_line(&text);
    }

    #[test]
    fn plans_decode_or_are_refused(
        at in 0usize..900,
        cut in 0usize..20,
        insert in "[\\[\\]{}\":,a-z0-9 ]{0,6}",
    ) {
        let _ = PlanSummary::from_show_json(&damaged(PLAN, at, cut, &insert), &DigestKey::from_bytes(b"k"));
    }
}

#[test]
fn the_undamaged_samples_decode() {
    for line in UI_LINES {
        parse_line(line).unwrap_or_else(|error| panic!("{line}: {error}"));
    }
    let plan = PlanSummary::from_show_json(PLAN, &DigestKey::from_bytes(b"k")).unwrap();
    assert_eq!(plan.changes.len(), 2);
}
