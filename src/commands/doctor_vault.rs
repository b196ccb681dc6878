//! `doctor`'s Vault check of one stack: logged in as the stack's settings say, may the token do what a plan
//! and an apply of the stack do (read its secrets, decrypt or make its state's data keys, write its outputs)?

use crate::project::Project;
use crate::stack::{CredentialRole, Stack, StateEncryption};
use crate::vault::{Need, Vault};

use super::report::Check;

/// What a run of `role` needs of Vault for `stack`.
fn needs(stack: &Stack, vault: &Vault, role: CredentialRole) -> Vec<Need> {
    let mut needs: Vec<Need> = stack
        .secrets
        .iter()
        .map(|secret| Need {
            path: format!("{}/data/{}", vault.mount, secret.source(role).0),
            capability: "read",
            why: format!("read the secret `{}`", secret.variable),
        })
        .collect();
    if let StateEncryption::Transit { mount, key } = &stack.encryption {
        needs.push(Need {
            path: format!("{mount}/keys/{key}"),
            capability: "read",
            why: "check the state's transit key".into(),
        });
        needs.push(Need {
            path: format!("{mount}/decrypt/{key}"),
            capability: "update",
            why: "decrypt the state".into(),
        });
        if role == CredentialRole::Apply {
            needs.push(Need {
                path: format!("{mount}/datakey/plaintext/{key}"),
                capability: "update",
                why: "make the state's data keys".into(),
            });
        }
    }
    if role == CredentialRole::Apply {
        needs.extend(stack.outputs_to_vault.iter().map(|target| Need {
            path: format!(
                "{}/data/{}",
                vault.mount,
                vault.output_path(&stack.name, "default", &target.path)
            ),
            capability: "create",
            why: format!("write the output `{}`", target.output),
        }));
    }
    needs
}

fn listed(unmet: &[Need]) -> String {
    unmet
        .iter()
        .map(|need| format!("`{}` on {} (to {})", need.capability, need.path, need.why))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Logs in and compares the token's capabilities with what plans and applies of `stack` need. Failing means a
/// plan cannot run; a token that can plan but not apply (a plan role's) passes, and the detail says so.
pub(super) async fn vault_check(project: &Project, stack: &Stack) -> Option<Check> {
    let settings = stack.vault.as_ref()?;
    let transit = matches!(stack.encryption, StateEncryption::Transit { .. });
    if stack.secrets.is_empty() && stack.outputs_to_vault.is_empty() && !transit {
        return None;
    }
    let name = format!("stack {} in Vault", stack.name);
    let failed = |detail: String| Check {
        name: name.clone(),
        ok: false,
        detail,
    };
    let vault = match Vault::connect(settings, &project.root).await {
        Ok(vault) => vault,
        Err(error) => return Some(failed(error.to_string())),
    };
    let plan = needs(stack, &vault, CredentialRole::Plan);
    let apply = needs(stack, &vault, CredentialRole::Apply);
    let (unmet_plan, unmet_apply) = match (vault.unmet(&plan).await, vault.unmet(&apply).await) {
        (Ok(plan), Ok(apply)) => (plan, apply),
        (Err(error), _) | (_, Err(error)) => return Some(failed(error.to_string())),
    };
    Some(if !unmet_plan.is_empty() {
        failed(format!(
            "logged in at {}, but the token cannot plan: it lacks {}\n  hint: `wildside-tofu vault bootstrap` writes the roles' policies; check the policy of the role this token is for",
            vault.address,
            listed(&unmet_plan)
        ))
    } else {
        Check {
            name,
            ok: true,
            detail: if unmet_apply.is_empty() {
                format!(
                    "logged in at {}; the token can plan and apply",
                    vault.address
                )
            } else {
                format!(
                    "logged in at {}; the token can plan, not apply (a plan role's): it lacks {}",
                    vault.address,
                    listed(&unmet_apply)
                )
            },
        }
    })
}
