//! The rules, as plain functions of the records and the time: who gets a slot, who may be pinned, and what
//! garbage collection removes.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::Serialize;

use super::record::Records;

/// May pull request `pr` have a preview? An existing preview always may (it is updated in place); a new one
/// only while fewer than `max` exist. The refusal names the previews holding the slots.
pub fn admit(records: &Records, pr: u64, max: u32) -> Result<(), String> {
    if records.contains_key(&pr) || records.len() < max as usize {
        return Ok(());
    }
    let holders: Vec<String> = records.keys().map(|pr| format!("pr-{pr}")).collect();
    Err(format!(
        "no preview slot for pull request {pr}: all {max} are taken by {}\n  hint: close or `preview down` one of them, or raise `max_concurrent` in [preview]",
        holders.join(", ")
    ))
}

/// May `pr` be pinned for `seconds`? At most `max_seconds`, and at most `max_pins` pins at once.
pub fn check_pin(
    records: &Records,
    pr: u64,
    seconds: u64,
    max_seconds: u64,
    max_pins: u32,
    now: Timestamp,
) -> Result<(), String> {
    if !records.contains_key(&pr) {
        return Err(format!("pull request {pr} has no preview to pin"));
    }
    if seconds > max_seconds {
        return Err(format!(
            "a pin may last at most {}h (asked for {:.1}h)",
            max_seconds / 3600,
            seconds as f64 / 3600.0
        ));
    }
    let pinned: Vec<u64> = records
        .values()
        .filter(|record| record.pr != pr && record.pinned_until.is_some_and(|until| until > now))
        .map(|record| record.pr)
        .collect();
    if pinned.len() >= max_pins as usize {
        let names: Vec<String> = pinned.iter().map(|pr| format!("pr-{pr}")).collect();
        return Err(format!(
            "at most {max_pins} previews may be pinned at once: {} already are\n  hint: `preview unpin` one of them",
            names.join(", ")
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GcReason {
    /// The pull request is closed.
    Closed,
    /// The TTL passed and no pin holds it.
    Expired,
    /// A workspace with no record.
    OrphanWorkspace,
    /// A record with no workspace.
    OrphanRecord,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GcAction {
    pub pr: u64,
    pub reason: GcReason,
}

/// What garbage collection removes. `open_prs` is `None` when it is not known which pull requests are open.
pub fn plan_gc(
    records: &Records,
    workspaces: &BTreeSet<u64>,
    open_prs: Option<&BTreeSet<u64>>,
    now: Timestamp,
) -> Vec<GcAction> {
    let mut actions = Vec::new();
    for record in records.values() {
        let pinned = record.pinned_until.is_some_and(|until| until > now);
        let reason = if !workspaces.contains(&record.pr) {
            Some(GcReason::OrphanRecord)
        } else if open_prs.is_some_and(|open| !open.contains(&record.pr)) {
            Some(GcReason::Closed)
        } else if !pinned && record.expires <= now {
            Some(GcReason::Expired)
        } else {
            None
        };
        if let Some(reason) = reason {
            actions.push(GcAction {
                pr: record.pr,
                reason,
            });
        }
    }
    for pr in workspaces.iter().filter(|pr| !records.contains_key(pr)) {
        actions.push(GcAction {
            pr: *pr,
            reason: GcReason::OrphanWorkspace,
        });
    }
    actions.sort_by_key(|action| action.pr);
    actions
}

#[cfg(test)]
mod tests {
    use super::super::record::{PreviewRecord, PreviewStatus};
    use super::*;

    fn at(hours: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + hours * 3600).unwrap()
    }

    fn record(pr: u64, expires: i64, pinned_until: Option<i64>) -> PreviewRecord {
        PreviewRecord {
            pr,
            sha: "abc".into(),
            creator: "t".into(),
            created: at(0),
            updated: at(0),
            expires: at(expires),
            pinned_until: pinned_until.map(at),
            status: PreviewStatus::Ready,
            url: None,
            cost_per_day: None,
        }
    }

    fn records(list: Vec<PreviewRecord>) -> Records {
        list.into_iter().map(|record| (record.pr, record)).collect()
    }

    #[test]
    fn capacity_refuses_new_previews_but_never_updates() {
        let full = records(vec![record(1, 10, None), record(2, 10, None)]);
        let refusal = admit(&full, 3, 2).unwrap_err();
        assert!(refusal.contains("pr-1, pr-2"), "{refusal}");
        assert!(admit(&full, 2, 2).is_ok());
        assert!(admit(&full, 3, 3).is_ok());
    }

    #[test]
    fn pins_are_bounded_in_length_and_number() {
        let set = records(vec![
            record(1, 10, Some(20)),
            record(2, 10, Some(20)),
            record(3, 10, None),
            record(4, 10, Some(1)),
        ]);
        assert!(
            check_pin(&set, 3, 49 * 3600, 48 * 3600, 3, at(5))
                .unwrap_err()
                .contains("at most 48h")
        );
        assert!(
            check_pin(&set, 3, 3600, 48 * 3600, 2, at(5))
                .unwrap_err()
                .contains("pr-1, pr-2")
        );
        assert!(
            check_pin(&set, 3, 3600, 48 * 3600, 3, at(5)).is_ok(),
            "the expired pin of pr-4 does not count"
        );
        assert!(check_pin(&set, 9, 3600, 48 * 3600, 3, at(5)).is_err());
    }

    #[test]
    fn gc_removes_closed_expired_and_orphans_but_keeps_pinned() {
        let set = records(vec![
            record(1, 2, None),
            record(2, 2, Some(30)),
            record(3, 50, None),
            record(4, 50, None),
            record(5, 50, None),
        ]);
        let workspaces: BTreeSet<u64> = [1, 2, 3, 4, 9].into();
        let open: BTreeSet<u64> = [1, 2, 3, 9].into();
        let actions = plan_gc(&set, &workspaces, Some(&open), at(10));
        assert_eq!(
            actions,
            vec![
                GcAction {
                    pr: 1,
                    reason: GcReason::Expired
                },
                GcAction {
                    pr: 4,
                    reason: GcReason::Closed
                },
                GcAction {
                    pr: 5,
                    reason: GcReason::OrphanRecord
                },
                GcAction {
                    pr: 9,
                    reason: GcReason::OrphanWorkspace
                },
            ]
        );
        assert_eq!(
            plan_gc(&set, &workspaces, None, at(1)).len(),
            2,
            "only the orphans before anything expires"
        );
    }
}
