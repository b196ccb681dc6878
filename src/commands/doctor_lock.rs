//! `doctor`'s lock-file check of one stack: the committed `<stack>.terraform.lock.hcl` beside the stack file
//! parses and pins every provider the platform modules need, so CI installs exactly what was reviewed.

use crate::project::Project;
use crate::render::PROVIDER_PINS;
use crate::stack::Stack;

use super::report::Check;

pub(super) fn lock_check(stack: &Stack) -> Check {
    let path = Project::lock_file(stack);
    let name = format!("stack {} lock file", stack.name);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Check {
                name,
                ok: true,
                detail: format!(
                    "none yet at {}: the first `plan` writes it; commit it",
                    path.display()
                ),
            };
        }
        Err(error) => {
            return Check {
                name,
                ok: false,
                detail: format!("{}: {error}", path.display()),
            };
        }
    };
    let body: hcl::Body = match hcl::from_str(&text) {
        Ok(body) => body,
        Err(error) => {
            return Check {
                name,
                ok: false,
                detail: format!(
                    "{} does not parse: {error}\n  hint: delete it and run `wildside-tofu providers lock {}`",
                    path.display(),
                    stack.name
                ),
            };
        }
    };
    let locked: Vec<String> = body
        .blocks()
        .filter(|block| block.identifier() == "provider")
        .filter_map(|block| {
            block
                .labels()
                .first()
                .map(|label| label.as_str().to_string())
        })
        .collect();
    let missing: Vec<&str> = if stack.platform.is_some() {
        PROVIDER_PINS
            .iter()
            .map(|(_, source, _)| *source)
            .filter(|source| {
                !locked
                    .iter()
                    .any(|address| address.ends_with(&format!("/{source}")))
            })
            .collect()
    } else {
        Vec::new()
    };
    if missing.is_empty() {
        Check {
            name,
            ok: true,
            detail: format!("{} pins {}", path.display(), locked.join(", ")),
        }
    } else {
        Check {
            name,
            ok: false,
            detail: format!(
                "{} does not pin {}\n  hint: run `wildside-tofu providers lock {}` and commit the file",
                path.display(),
                missing.join(", "),
                stack.name
            ),
        }
    }
}
