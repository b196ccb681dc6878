//! Validation of `[preview]` and module `preview_inputs`.

use std::collections::BTreeMap;

use toml::Spanned;

use super::error::StackError;
use super::load::{RawModule, RawPreview};
use super::model::{
    IdleAction, ModuleInstance, PreviewKind, PreviewSettings, PreviewVariable, PreviewVpc,
};
use super::validate::Checker;

/// The longest pin: 48 hours, so a forgotten pin still expires within two working days.
const LONGEST_PIN_SECONDS: u64 = 48 * 3600;

/// How long `preview gc` leaves a record without a workspace alone: 15 minutes, ample for a `preview up` to
/// get from writing its record to creating its workspace.
const DEFAULT_ORPHAN_GRACE_SECONDS: u64 = 15 * 60;

/// The largest pull request number a preview is made for, so that `-pr-<n>` on a platform preview's names
/// takes at most [`PREVIEW_NAME_SUFFIX`] characters.
pub const LARGEST_PULL_REQUEST: u64 = 9_999_999;

/// The characters `-pr-<n>` adds to a platform preview's cluster and VPC names.
pub const PREVIEW_NAME_SUFFIX: usize = "-pr-9999999".len();

impl Checker<'_> {
    pub(super) fn preview(
        &self,
        spanned: &Spanned<RawPreview>,
        has_vault: bool,
    ) -> Result<PreviewSettings, StackError> {
        if !has_vault {
            return Err(self
                .error(
                    spanned,
                    "`[preview]` keeps its records in Vault and needs a `[vault]` section",
                )
                .with_hint(
                    "add [vault] with at least `address = \"https://vault.example:8200\"`",
                ));
        }
        let raw = spanned.get_ref();
        let count = |value: &Option<Spanned<i64>>, default: u32, what: &str| match value {
            None => Ok(default),
            Some(number) => u32::try_from(*number.get_ref())
                .ok()
                .filter(|number| *number > 0)
                .ok_or_else(|| {
                    self.error(number, format!("`{what}` must be a positive whole number"))
                        .with_hint(format!("such as `{what} = {default}`"))
                }),
        };
        let max_pin_seconds =
            self.duration(raw.max_pin.as_ref(), LONGEST_PIN_SECONDS, "max_pin")?;
        if max_pin_seconds > LONGEST_PIN_SECONDS {
            let at = raw.max_pin.as_ref().expect("a non-default pin was written");
            return Err(self
                .error(at, "`max_pin` may be at most 48h")
                .with_hint("previews are pinned for at most two days"));
        }
        if let Some(url) = &raw.url
            && !(url.get_ref().starts_with("https://") || url.get_ref().starts_with("http://"))
        {
            return Err(self
                .error(url, "the preview `url` must be an http(s) URL")
                .with_hint("such as `url = \"https://wildside-pr-{pr}.preview.example.com\"`"));
        }
        let vpc = match raw.vpc.as_ref().map(|vpc| (vpc, vpc.get_ref().as_str())) {
            None | Some((_, "per_pr")) => PreviewVpc::PerPullRequest,
            Some((_, "shared")) => PreviewVpc::Shared,
            Some((at, _)) => {
                return Err(self
                    .error(at, "the preview `vpc` is `per_pr` or `shared`")
                    .with_hint("`per_pr` gives each pull request its own VPC; `shared` joins the existing VPC named by [vpc] name"));
            }
        };
        let idle = match raw
            .idle
            .as_ref()
            .map(|idle| (idle, idle.get_ref().as_str()))
        {
            None | Some((_, "destroy")) => IdleAction::Destroy,
            Some((_, "hibernate")) => IdleAction::Hibernate,
            Some((at, _)) => {
                return Err(self
                    .error(at, "the preview `idle` action is `destroy` or `hibernate`")
                    .with_hint("`hibernate` keeps an idle platform preview at its cheapest shape instead of destroying it"));
            }
        };
        Ok(PreviewSettings {
            vpc,
            idle,
            max_concurrent: count(&raw.max_concurrent, 5, "max_concurrent")?,
            max_pins: count(&raw.max_pins, 3, "max_pins")?,
            ttl_seconds: self.duration(raw.ttl.as_ref(), 72 * 3600, "ttl")?,
            max_pin_seconds,
            url: raw.url.as_ref().map(|url| url.get_ref().clone()),
            orphan_grace: jiff::SignedDuration::from_secs(
                i64::try_from(self.duration(
                    raw.orphan_grace.as_ref(),
                    DEFAULT_ORPHAN_GRACE_SECONDS,
                    "orphan_grace",
                )?)
                .unwrap_or(i64::MAX),
            ),
            kind: raw
                .kind
                .as_ref()
                .map_or_else(PreviewKind::default, |kind| *kind.get_ref()),
        })
    }

    fn duration(
        &self,
        value: Option<&Spanned<String>>,
        default: u64,
        what: &str,
    ) -> Result<u64, StackError> {
        let Some(value) = value else {
            return Ok(default);
        };
        value
            .get_ref()
            .trim()
            .parse::<jiff::Span>()
            .and_then(|span| span.to_duration(jiff::SpanRelativeTo::days_are_24_hours()))
            .ok()
            .map(|duration| duration.as_secs())
            .filter(|seconds| *seconds > 0)
            .and_then(|seconds| u64::try_from(seconds).ok())
            .ok_or_else(|| {
                self.error(value, format!("`{}` is not a duration", value.get_ref()))
                    .with_hint(format!("write `{what}` like \"72h\", \"2days\" or \"90m\""))
            })
    }

    pub(super) fn preview_inputs(
        &self,
        raw: &RawModule,
        module: &ModuleInstance,
        is_preview: bool,
    ) -> Result<BTreeMap<String, PreviewVariable>, StackError> {
        let mut wired = BTreeMap::new();
        for (input, variable) in &raw.preview_inputs {
            let input_name = self.identifier(input, "input")?;
            if !is_preview {
                return Err(self
                    .error(input, "`preview_inputs` needs a `[preview]` section")
                    .with_hint("add [preview] to make this a preview stack"));
            }
            if module.inputs.contains_key(&input_name)
                || module.secret_inputs.contains_key(&input_name)
            {
                return Err(self
                    .error(input, format!("input `{input_name}` is set more than once"))
                    .with_hint(
                        "keep it in one of `inputs`, `secret_inputs` and `preview_inputs`",
                    ));
            }
            let Some((_, value)) = PreviewVariable::ALL
                .iter()
                .find(|(name, _)| *name == variable.get_ref())
            else {
                let names = PreviewVariable::ALL.map(|(name, _)| name);
                let error = self.error(
                    variable,
                    format!("`{}` is not a preview variable", variable.get_ref()),
                );
                return Err(error.suggesting(
                    variable.get_ref(),
                    names,
                    format!("preview variables: {}", names.join(", ")),
                ));
            };
            wired.insert(input_name, *value);
        }
        Ok(wired)
    }
}

impl Checker<'_> {
    /// A namespace preview stack writes overlays into `[gitops.apps]` and applies nothing itself.
    pub(super) fn namespace_preview(
        &self,
        raw: &super::load::RawStack,
        gitops: Option<&super::gitops::GitopsSettings>,
        has_platform: bool,
    ) -> Result<(), StackError> {
        let preview = raw
            .preview
            .as_ref()
            .expect("a namespace preview has a [preview] section");
        if gitops.and_then(|gitops| gitops.apps.as_ref()).is_none() {
            return Err(self
                .error(preview, "a `kind = \"namespace\"` preview needs `[gitops.apps]`: the repository its overlays go to")
                .with_hint("add [gitops] and [gitops.apps] with `repository`, `project` and `image`"));
        }
        if let Some(module) = raw.modules.first() {
            return Err(self
                .error(
                    module,
                    "a namespace preview applies no modules: its overlay is all it makes",
                )
                .with_hint(
                    "remove [[modules]], or make it a platform preview (`kind = \"platform\"`)",
                ));
        }
        if has_platform {
            return Err(self
                .error(preview, "a namespace preview has no platform sections: its namespace is in the cluster of `[gitops]`")
                .with_hint("remove [cluster] and [[node_pools]], or make it a platform preview (`kind = \"platform\"`)"));
        }
        Ok(())
    }
}
