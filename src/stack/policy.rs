//! Validation of `[policy]` (built-in rules switched off, their settings, exceptions with an expiry date) and
//! `[budget]` (a monthly ceiling in US dollars). Rule names are checked here against the built-in list, so a
//! misspelt rule is reported at its line with a "did you mean".

use toml::Spanned;

use super::error::StackError;
use super::model::{Budget, PolicyException, PolicySettings};
use super::validate::Checker;

/// The built-in policy rules, by the name a stack file uses to switch one off or to except a resource.
pub const BUILTIN_RULES: [&str; 8] = [
    "ha_control_plane",
    "no_public_admin",
    "lb_https_only",
    "versions_pinned",
    "upgrades_maintenance",
    "required_tags",
    "size_ceiling",
    "vault_appliance",
];

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    production: Option<bool>,
    #[serde(default)]
    disable: Vec<Spanned<String>>,
    #[serde(default)]
    required_tags: Vec<String>,
    max_node_count: Option<Spanned<i64>>,
    max_size_vcpus: Option<Spanned<i64>>,
    #[serde(default)]
    exceptions: Vec<Spanned<RawException>>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawException {
    rule: Spanned<String>,
    address: Spanned<String>,
    reason: Spanned<String>,
    expires: Spanned<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBudget {
    monthly_usd: Spanned<f64>,
}

impl Checker<'_> {
    pub(super) fn policy(
        &self,
        raw: Option<&Spanned<RawPolicy>>,
    ) -> Result<PolicySettings, StackError> {
        let Some(raw) = raw.map(Spanned::get_ref) else {
            return Ok(PolicySettings::default());
        };
        let defaults = PolicySettings::default();
        let mut disabled = Vec::new();
        for name in &raw.disable {
            disabled.push(self.builtin_rule(name)?);
        }
        let ceiling = |value: &Option<Spanned<i64>>, default: u32, what: &str| match value {
            None => Ok(default),
            Some(number) => u32::try_from(*number.get_ref())
                .ok()
                .filter(|number| *number > 0)
                .ok_or_else(|| {
                    self.error(number, format!("`{what}` must be a positive whole number"))
                        .with_hint(format!("such as `{what} = {default}`"))
                }),
        };
        let mut exceptions = Vec::new();
        for exception in &raw.exceptions {
            exceptions.push(self.exception(exception.get_ref())?);
        }
        Ok(PolicySettings {
            production: raw.production.unwrap_or(false),
            disabled,
            required_tags: raw.required_tags.clone(),
            max_node_count: ceiling(
                &raw.max_node_count,
                defaults.max_node_count,
                "max_node_count",
            )?,
            max_size_vcpus: ceiling(
                &raw.max_size_vcpus,
                defaults.max_size_vcpus,
                "max_size_vcpus",
            )?,
            exceptions,
        })
    }

    fn builtin_rule(&self, name: &Spanned<String>) -> Result<String, StackError> {
        if BUILTIN_RULES.contains(&name.get_ref().as_str()) {
            return Ok(name.get_ref().clone());
        }
        Err(self
            .error(
                name,
                format!("`{}` is not a built-in policy rule", name.get_ref()),
            )
            .suggesting(
                name.get_ref(),
                BUILTIN_RULES,
                format!("built-in rules: {}", BUILTIN_RULES.join(", ")),
            ))
    }

    fn exception(&self, raw: &RawException) -> Result<PolicyException, StackError> {
        let rule = raw.rule.get_ref().trim();
        if rule.is_empty() {
            return Err(self
                .error(&raw.rule, "an exception needs the `rule` it excepts")
                .with_hint("a built-in rule such as `no_public_admin`, or the package of a project policy such as `main`"));
        }
        if raw.reason.get_ref().trim().is_empty() {
            return Err(self
                .error(&raw.reason, "an exception needs a `reason`")
                .with_hint("say why the resource may break the rule, so a reviewer can judge it"));
        }
        let expires =
            jiff::civil::Date::strptime("%Y-%m-%d", raw.expires.get_ref()).map_err(|_| {
                self.error(
                    &raw.expires,
                    format!("`{}` is not a date", raw.expires.get_ref()),
                )
                .with_hint("write the expiry as YYYY-MM-DD, such as `expires = \"2026-12-31\"`")
            })?;
        Ok(PolicyException {
            rule: rule.to_string(),
            address: raw.address.get_ref().clone(),
            reason: raw.reason.get_ref().clone(),
            expires,
        })
    }

    pub(super) fn budget(
        &self,
        raw: Option<&Spanned<RawBudget>>,
    ) -> Result<Option<Budget>, StackError> {
        let Some(raw) = raw else {
            return Ok(None);
        };
        let monthly = &raw.get_ref().monthly_usd;
        if !monthly.get_ref().is_finite() || *monthly.get_ref() <= 0.0 {
            return Err(self
                .error(monthly, "`monthly_usd` must be a positive amount")
                .with_hint("such as `monthly_usd = 250.0`"));
        }
        Ok(Some(Budget {
            monthly_usd: *monthly.get_ref(),
        }))
    }
}
