//! `output --raw NAME` prints one value as `tofu output -raw` does: a sensitive one only when named.

use sha2::{Digest, Sha256};

use crate::support::{Project, example_stack};

#[test]
fn one_value_as_text_and_a_sensitive_one_only_by_name() {
    let project = Project::new();
    project.stack(
        "raw",
        &example_stack(
            "[backend]\ntype = \"local\"",
            "message = \"raw canary-77c1\"",
        ),
    );
    project
        .run()
        .args(["up", "raw", "--yes"])
        .output()
        .expect_code(0);
    let message = project
        .run()
        .args(["output", "raw", "--raw", "message"])
        .output()
        .expect_code(0);
    assert_eq!(message.stdout().trim_end(), "raw canary-77c1");

    let digest = hex::encode(Sha256::digest("raw canary-77c1"));
    let all = project
        .run()
        .args(["output", "raw"])
        .output()
        .expect_code(0);
    assert!(!all.stdout().contains(&digest), "{}", all.stdout());
    let named = project
        .run()
        .args(["output", "raw", "--raw", "digest"])
        .output()
        .expect_code(0);
    assert_eq!(named.stdout().trim_end(), digest);

    let typo = project
        .run()
        .args(["output", "raw", "--raw", "mesage"])
        .output()
        .expect_code(1);
    assert!(
        typo.stderr().contains("no output `mesage`")
            && typo.stderr().contains("did you mean `message`?"),
        "{}",
        typo.stderr()
    );
}
