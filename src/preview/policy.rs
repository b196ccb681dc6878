//! The rules, as plain functions of the records and the time: who gets a slot, which VPC range a preview
//! gets, who may be pinned, and what garbage collection removes — decided once from what gc read, and again
//! for each removal on the record as it is when the removal is written down.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::record::{PreviewRecord, PreviewStatus, Records};

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

/// The VPC range slot of pull request `pr` among `slots`: the one its record holds, else the first free one,
/// starting at `pr % slots` (where previews made before slots were kept in the ledger have theirs). A record
/// without a slot holds `pr % slots`. Refused when every slot is held.
pub fn allocate_vpc_slot(records: &Records, pr: u64, slots: u32) -> Result<u32, String> {
    if let Some(record) = records.get(&pr) {
        return Ok(held_vpc_slot(record, slots));
    }
    let held: BTreeSet<u32> = records
        .values()
        .map(|record| held_vpc_slot(record, slots))
        .collect();
    let start = legacy_slot(pr, slots);
    (0..slots)
        .map(|offset| (start + offset) % slots)
        .find(|slot| !held.contains(slot))
        .ok_or_else(|| {
            format!(
                "no VPC range is free for pull request {pr}: all {slots} ranges of the previews' `[vpc] cidr` are held by {}\n  hint: close or `preview down` one of them, or give [vpc] a wider `cidr`",
                records
                    .keys()
                    .map(|pr| format!("pr-{pr}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// The VPC range slot a record holds among `slots`: its own, else (a record from before slots were kept)
/// `pr % slots`.
pub fn held_vpc_slot(record: &PreviewRecord, slots: u32) -> u32 {
    record
        .vpc_slot
        .filter(|slot| *slot < slots)
        .unwrap_or_else(|| legacy_slot(record.pr, slots))
}

fn legacy_slot(pr: u64, slots: u32) -> u32 {
    u32::try_from(pr % u64::from(slots.max(1))).unwrap_or(0)
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

/// Why gc kept a preview it had set out to remove: what it found when it looked again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GcKeep {
    /// Its record is gone: someone else removed it.
    Gone,
    /// It was brought up again (a new expiry, or a record for a workspace that had none).
    Renewed,
    /// It was pinned.
    Pinned,
    /// Its record was written within the orphan grace period: a `preview up` may be creating the workspace.
    Young,
    /// Another `preview down` or `gc` marked it for destruction within the grace period and is at work.
    BeingDestroyed,
}

/// What garbage collection sets out to remove, and may keep when it looks again. `open_prs` is `None` when it
/// is not known which pull requests are open. A record without a workspace is an orphan only once it has not
/// changed for `orphan_grace`: `preview up` writes its record before it creates the workspace.
pub fn plan_gc(
    records: &Records,
    workspaces: &BTreeSet<u64>,
    open_prs: Option<&BTreeSet<u64>>,
    now: Timestamp,
    orphan_grace: SignedDuration,
) -> Vec<GcAction> {
    let mut actions = Vec::new();
    for record in records.values() {
        let reason = if !workspaces.contains(&record.pr) {
            GcReason::OrphanRecord
        } else if open_prs.is_some_and(|open| !open.contains(&record.pr)) {
            GcReason::Closed
        } else {
            GcReason::Expired
        };
        if recheck(reason, Some(record), now, orphan_grace).is_ok() {
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

/// Whether a removal planned for `reason` still holds for the record as it is now (`None`: there is none),
/// decided inside the ledger update that marks the record `destroying`.
pub fn recheck(
    reason: GcReason,
    record: Option<&PreviewRecord>,
    now: Timestamp,
    orphan_grace: SignedDuration,
) -> Result<(), GcKeep> {
    let Some(record) = record else {
        // A workspace without a record stays an orphan; a record that went was removed by someone else.
        return match reason {
            GcReason::OrphanWorkspace => Ok(()),
            _ => Err(GcKeep::Gone),
        };
    };
    let recent = now.duration_since(record.updated) < orphan_grace;
    if record.status == PreviewStatus::Destroying && recent {
        return Err(GcKeep::BeingDestroyed);
    }
    match reason {
        // The record was written since gc listed the workspaces: the workspace is its preview's.
        GcReason::OrphanWorkspace => Err(GcKeep::Renewed),
        GcReason::OrphanRecord if recent => Err(GcKeep::Young),
        GcReason::OrphanRecord | GcReason::Closed => Ok(()),
        GcReason::Expired if record.pinned_until.is_some_and(|until| until > now) => {
            Err(GcKeep::Pinned)
        }
        GcReason::Expired if record.expires > now => Err(GcKeep::Renewed),
        GcReason::Expired => Ok(()),
    }
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
            vpc_slot: None,
        }
    }

    const GRACE: SignedDuration = SignedDuration::from_mins(15);

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
        let actions = plan_gc(&set, &workspaces, Some(&open), at(10), GRACE);
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
            plan_gc(&set, &workspaces, None, at(1), GRACE).len(),
            2,
            "only the orphans before anything expires"
        );
    }

    #[test]
    fn an_orphan_record_is_collected_only_after_the_grace_period() {
        let mut young = record(5, 50, None);
        young.updated = at(10) - SignedDuration::from_mins(14);
        let mut old = record(6, 50, None);
        old.updated = at(10) - GRACE;
        let set = records(vec![young, old]);
        let actions = plan_gc(&set, &BTreeSet::new(), None, at(10), GRACE);
        assert_eq!(
            actions,
            vec![GcAction {
                pr: 6,
                reason: GcReason::OrphanRecord
            }],
            "pr-5's `preview up` may still be creating its workspace"
        );
    }

    /// Every removal is decided again on the record as it is when the removal is written down.
    #[test]
    fn a_removal_holds_only_for_the_record_as_it_is_now() {
        let now = at(10);
        let expired = record(1, 2, None);
        let renewed = record(1, 11, None);
        let pinned = record(1, 2, Some(12));
        let mut destroying = record(1, 2, None);
        destroying.status = PreviewStatus::Destroying;
        destroying.updated = now - SignedDuration::from_mins(1);
        let mut abandoned = destroying.clone();
        abandoned.updated = now - GRACE;
        let mut young = record(1, 2, None);
        young.updated = now - SignedDuration::from_mins(1);
        let cases = [
            (GcReason::Expired, Some(&expired), Ok(())),
            (GcReason::Expired, Some(&renewed), Err(GcKeep::Renewed)),
            (GcReason::Expired, Some(&pinned), Err(GcKeep::Pinned)),
            (GcReason::Expired, None, Err(GcKeep::Gone)),
            (
                GcReason::Expired,
                Some(&destroying),
                Err(GcKeep::BeingDestroyed),
            ),
            (GcReason::Expired, Some(&abandoned), Ok(())),
            (GcReason::Closed, Some(&pinned), Ok(())),
            (GcReason::Closed, Some(&renewed), Ok(())),
            (GcReason::Closed, None, Err(GcKeep::Gone)),
            (GcReason::OrphanRecord, Some(&expired), Ok(())),
            (GcReason::OrphanRecord, Some(&young), Err(GcKeep::Young)),
            (GcReason::OrphanRecord, None, Err(GcKeep::Gone)),
            (GcReason::OrphanWorkspace, None, Ok(())),
            (
                GcReason::OrphanWorkspace,
                Some(&young),
                Err(GcKeep::Renewed),
            ),
        ];
        for (reason, record, verdict) in cases {
            assert_eq!(
                recheck(reason, record, now, GRACE),
                verdict,
                "{reason:?} on {record:?}"
            );
        }
    }

    #[test]
    fn pull_requests_256_apart_get_different_vpc_ranges() {
        let mut set = Records::new();
        for pr in [1, 257, 513] {
            let slot = allocate_vpc_slot(&set, pr, 256).unwrap();
            let mut held = record(pr, 10, None);
            held.vpc_slot = Some(slot);
            set.insert(pr, held);
        }
        let slots: Vec<Option<u32>> = set.values().map(|record| record.vpc_slot).collect();
        assert_eq!(slots, vec![Some(1), Some(2), Some(3)]);
        assert_eq!(
            allocate_vpc_slot(&set, 257, 256),
            Ok(2),
            "a preview keeps its range"
        );
        set.remove(&1);
        assert_eq!(
            allocate_vpc_slot(&set, 769, 256),
            Ok(1),
            "a range is free again once its record is gone"
        );
    }

    #[test]
    fn a_record_from_before_slots_holds_its_old_range_and_a_full_range_refuses() {
        let set = records(vec![record(3, 10, None)]);
        assert_eq!(allocate_vpc_slot(&set, 3, 16), Ok(3));
        assert_eq!(allocate_vpc_slot(&set, 19, 16), Ok(4));
        let full: Records = (0..4)
            .map(|pr| {
                let mut held = record(pr, 10, None);
                held.vpc_slot = Some(u32::try_from(pr).unwrap());
                (pr, held)
            })
            .collect();
        let refusal = allocate_vpc_slot(&full, 9, 4).unwrap_err();
        assert!(
            refusal.contains("all 4 ranges") && refusal.contains("pr-0, pr-1, pr-2, pr-3"),
            "{refusal}"
        );
    }

    proptest::proptest! {
        /// Whatever previews come and go, no two records hold one slot, and a preview keeps its slot.
        #[test]
        fn no_two_previews_share_a_vpc_range(
            steps in proptest::collection::vec((0u64..2_000, proptest::bool::ANY), 1..200),
            slots in 1u32..40,
        ) {
            let mut set = Records::new();
            for (pr, up) in steps {
                if up {
                    let before = set.get(&pr).and_then(|record| record.vpc_slot);
                    match allocate_vpc_slot(&set, pr, slots) {
                        Ok(slot) => {
                            proptest::prop_assert!(slot < slots);
                            if let Some(before) = before {
                                proptest::prop_assert_eq!(before, slot);
                            }
                            let mut held = record(pr, 10, None);
                            held.vpc_slot = Some(slot);
                            set.insert(pr, held);
                        }
                        Err(_) => proptest::prop_assert_eq!(set.len(), slots as usize),
                    }
                } else {
                    set.remove(&pr);
                }
                let held: BTreeSet<u32> = set.values().filter_map(|record| record.vpc_slot).collect();
                proptest::prop_assert_eq!(held.len(), set.len());
            }
        }
    }
}
