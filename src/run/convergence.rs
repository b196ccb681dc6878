//! Whether `up` may expect a workspace to have no changes, and so plan it without saving the plan.
//!
//! A plan that `up` may apply is saved, and a saved plan costs tofu a plan file and, for a stack whose state is
//! not encrypted, a key provider's answer for the plan's own encryption. When the last `up` of a workspace left
//! it converged with the inputs it has now (see [`Tofu::plan_inputs_fingerprint`]), the next `up` first plans
//! without saving. With no changes, as after most converged runs, it is done; with changes (drift, a changed
//! secret, another machine's apply) it plans again into a saved plan, and that saved plan is what the gate reviews
//! and tofu applies. The record is a hint: a wrong one costs one plan, never an unreviewed change.
//!
//! [`Tofu::plan_inputs_fingerprint`]: crate::engine::Tofu::plan_inputs_fingerprint

use std::path::PathBuf;

use super::context::Prepared;

/// The convergence record of one workspace of a stack's root, and the inputs of this run.
pub(crate) struct Convergence {
    record: PathBuf,
    inputs: String,
    recorded: bool,
}

impl Convergence {
    pub(crate) fn of(prepared: &Prepared) -> Self {
        let record = prepared
            .build_dir
            .join("plans")
            .join(format!("{}.converged", prepared.workspace));
        let inputs = prepared.tofu.plan_inputs_fingerprint();
        let recorded = std::fs::read_to_string(&record).is_ok_and(|recorded| recorded == inputs);
        Self {
            record,
            inputs,
            recorded,
        }
    }

    /// Whether the last `up` left the workspace converged with this run's inputs.
    pub(crate) fn expected(&self) -> bool {
        self.recorded
    }

    /// Records that the workspace is converged with this run's inputs (after an `up` with no changes or with
    /// its changes applied). A record that cannot be written only costs the next `up` its hint.
    pub(crate) fn record(&self) {
        if self.recorded {
            return;
        }
        if let Err(error) = std::fs::write(&self.record, &self.inputs) {
            tracing::debug!("not recording `{}`: {error}", self.record.display());
        }
    }

    /// Forgets the record (a failed apply, a destroyed workspace).
    pub(crate) fn forget(&self) {
        let _ = std::fs::remove_file(&self.record);
    }
}
