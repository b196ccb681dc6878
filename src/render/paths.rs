//! Relative paths from the rendered root to the project's modules, so rendered files do not embed absolute paths.

use std::path::{Component, Path, PathBuf};

/// The path from directory `from` to `to`, both absolute; `None` when they share no root.
pub fn relative_path(from: &Path, to: &Path) -> Option<PathBuf> {
    let from: Vec<Component<'_>> = from.components().collect();
    let to: Vec<Component<'_>> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return None;
    }
    let mut path = PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for component in &to[common..] {
        path.push(component);
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::relative_path;
    use std::path::Path;

    #[test]
    fn climbs_to_the_common_ancestor() {
        let path = relative_path(
            Path::new("/p/.wildside/build/dev"),
            Path::new("/p/modules/example"),
        );
        assert_eq!(path.unwrap(), Path::new("../../../modules/example"));
    }
}
