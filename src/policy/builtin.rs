//! The built-in rules, compiled into the binary from `policies/builtin/`, where users can read and copy them.

/// Name and Rego source of every built-in rule, in the order reports list them.
pub const BUILTIN_POLICIES: [(&str, &str); 8] = [
    (
        "ha_control_plane",
        include_str!("../../policies/builtin/ha_control_plane.rego"),
    ),
    (
        "no_public_admin",
        include_str!("../../policies/builtin/no_public_admin.rego"),
    ),
    (
        "lb_https_only",
        include_str!("../../policies/builtin/lb_https_only.rego"),
    ),
    (
        "versions_pinned",
        include_str!("../../policies/builtin/versions_pinned.rego"),
    ),
    (
        "upgrades_maintenance",
        include_str!("../../policies/builtin/upgrades_maintenance.rego"),
    ),
    (
        "required_tags",
        include_str!("../../policies/builtin/required_tags.rego"),
    ),
    (
        "size_ceiling",
        include_str!("../../policies/builtin/size_ceiling.rego"),
    ),
    (
        "vault_appliance",
        include_str!("../../policies/builtin/vault_appliance.rego"),
    ),
];

/// The Rego source of the built-in rule `name`.
pub fn builtin_source(name: &str) -> Option<&'static str> {
    BUILTIN_POLICIES
        .iter()
        .find(|(builtin, _)| *builtin == name)
        .map(|(_, source)| *source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_file_knows_every_builtin_rule() {
        let names: Vec<&str> = BUILTIN_POLICIES.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, crate::stack::BUILTIN_RULES);
        for (name, source) in BUILTIN_POLICIES {
            assert!(
                source.contains(&format!("package wildside.builtin.{name}\n")),
                "{name}"
            );
        }
    }
}
