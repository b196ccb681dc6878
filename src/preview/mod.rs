//! Previews: one workspace `pr-<n>` of a preview stack per pull request, with bookkeeping safe under
//! concurrent CI jobs (one ledger document in Vault, changed only with check-and-set), TTLs, pins, a capacity
//! limit, and garbage collection of whatever is left behind.

mod clock;
mod ledger;
mod policy;
mod record;

pub use clock::{Clock, ClockError};
pub use ledger::{Ledger, LedgerError, Presence, Snapshot};
pub use policy::{
    GcAction, GcKeep, GcReason, admit, allocate_vpc_slot, check_pin, held_vpc_slot, plan_gc,
    recheck,
};
pub use record::{DecodeError, PreviewRecord, PreviewStatus, Records, decode, encode};

/// The workspace of a pull request's preview.
pub fn workspace_of(pr: u64) -> String {
    format!("pr-{pr}")
}

/// The pull request a preview workspace belongs to, if it is one.
pub fn pr_of(workspace: &str) -> Option<u64> {
    workspace.strip_prefix("pr-")?.parse().ok()
}
