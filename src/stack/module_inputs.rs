//! A stack's module inputs against the variables its modules declare: an input no variable takes, and a
//! required variable no input sets, are found here with their place in the stack file, all at once, instead
//! of by tofu at plan without one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use toml::Spanned;

use super::error::{StackError, StackErrors};
use super::load::RawStack;

/// The variables one module declares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleVariables {
    /// Every declared variable.
    pub declared: BTreeSet<String>,
    /// Those without a default, which a call must set.
    pub required: BTreeSet<String>,
}

/// Checks the `[[modules]]` of the stack file `source` whose `source` is a module in `variables` (by name).
/// Modules not in `variables` (external sources, or modules whose variables could not be read) are skipped.
pub fn check_module_inputs(
    path: &Path,
    source: &str,
    variables: &BTreeMap<String, ModuleVariables>,
) -> Result<(), StackErrors> {
    let Ok(raw) = toml::from_str::<RawStack>(source) else {
        // Loading the stack reported its syntax already.
        return Ok(());
    };
    let mut errors = Vec::new();
    for module in &raw.modules {
        let instance = module.get_ref();
        let Some(declared) = variables.get(instance.source.get_ref()) else {
            continue;
        };
        let module_name = instance.source.get_ref();
        let given: Vec<&Spanned<String>> = instance
            .inputs
            .keys()
            .chain(instance.secret_inputs.keys())
            .chain(instance.preview_inputs.keys())
            .collect();
        for input in &given {
            let name = input.get_ref();
            if declared.declared.contains(name) {
                continue;
            }
            let listed: Vec<&str> = declared.declared.iter().map(String::as_str).collect();
            errors.push(
                StackError::at(
                    path,
                    source,
                    input.span().start,
                    format!("module `{module_name}` has no variable `{name}`"),
                )
                .suggesting(
                    name,
                    listed.iter().copied(),
                    if listed.is_empty() {
                        format!("`{module_name}` takes no inputs: remove it")
                    } else {
                        format!("`{module_name}` takes: {}", listed.join(", "))
                    },
                ),
            );
        }
        for required in &declared.required {
            if given.iter().any(|input| input.get_ref() == required) {
                continue;
            }
            errors.push(
                StackError::at(
                    path,
                    source,
                    instance.name.span().start,
                    format!(
                        "module instance `{}` does not set `{required}`, which module `{module_name}` requires",
                        instance.name.get_ref()
                    ),
                )
                .with_hint(format!("add `{required} = ...` to its `inputs`")),
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(StackErrors(errors))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::{ModuleVariables, check_module_inputs};

    #[test]
    fn every_unknown_and_missing_input_is_located_at_once() {
        let source = "[[modules]]\nname = \"greeting\"\nsource = \"example\"\ninputs = { mesage = \"hi\", tags = [\"a\"] }\n";
        let variables = BTreeMap::from([(
            "example".to_string(),
            ModuleVariables {
                declared: ["message", "instances"].map(String::from).into(),
                required: ["message"].map(String::from).into(),
            },
        )]);
        let errors = check_module_inputs(Path::new("stacks/s.toml"), source, &variables)
            .unwrap_err()
            .0;
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 3, "{text:#?}");
        assert!(
            text[0].starts_with("stacks/s.toml:4:12: module `example` has no variable `mesage`")
                && text[0].contains("did you mean `message`?"),
            "{}",
            text[0]
        );
        assert!(
            text[1].contains("`tags`") && text[1].contains("takes: instances, message"),
            "{}",
            text[1]
        );
        assert!(
            text[2].starts_with(
                "stacks/s.toml:2:8: module instance `greeting` does not set `message`"
            ),
            "{}",
            text[2]
        );
        let unknown = BTreeMap::new();
        assert!(check_module_inputs(Path::new("s.toml"), source, &unknown).is_ok());
    }
}
