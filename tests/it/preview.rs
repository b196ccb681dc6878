//! Previews with real tofu and a real OpenBao: lifecycle and in-place updates, capacity, pins, TTL and gc
//! driven by a clock the test sets (`WILDSIDE_NOW`), and concurrent CI jobs. The preview stack uses the
//! example module, so it needs no cloud; previews of platform stacks, which need the `digitalocean/digitalocean`
//! provider, are tested in `sandbox_provider`.

use std::process::Child;

use crate::support::{DEV_ROOT_TOKEN, Done, GitHubDouble, OpenBao, Project, Run};

fn preview_stack(address: &str, max_concurrent: u32) -> String {
    format!(
        r#"
[vault]
address = "{address}"

[preview]
max_concurrent = {max_concurrent}
max_pins = 1
ttl = "1h"
url = "https://wildside-pr-{{pr}}.preview.example.com"

[[modules]]
name = "app"
source = "example"
preview_inputs = {{ message = "commit_sha" }}

[[outputs]]
name = "message"
from = "app.message"

[outputs_to_vault]
message = "message"
"#
    )
}

struct Previews {
    bao: OpenBao,
    project: Project,
}

impl Previews {
    fn new(max_concurrent: u32) -> Self {
        let bao = OpenBao::dev();
        let project = Project::new();
        project.stack("preview", &preview_stack(&bao.address(), max_concurrent));
        Self { bao, project }
    }

    fn run(&self, now: &str) -> Run {
        self.project
            .run()
            .env("VAULT_TOKEN", DEV_ROOT_TOKEN)
            .env("WILDSIDE_NOW", now)
    }

    fn preview(&self, now: &str, args: &[&str]) -> Done {
        self.run(now).args(["preview"]).args(args).output()
    }

    fn list(&self, now: &str) -> Vec<serde_json::Value> {
        let done = self
            .run(now)
            .args(["--output", "json", "preview", "list"])
            .output()
            .expect_code(0);
        done.json()["previews"].as_array().unwrap().clone()
    }

    fn message(&self, pr: u64) -> String {
        let workspace = format!("pr-{pr}");
        let done = self
            .run(T0)
            .args(["output", "preview", "--json", "-w", &workspace])
            .output()
            .expect_code(0);
        done.json()["outputs"][0]["value"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

const T0: &str = "2030-01-01T00:00:00Z";

#[test]
fn a_preview_is_created_updated_in_place_and_destroyed_idempotently() {
    let previews = Previews::new(5);
    let up = previews
        .preview(T0, &["up", "--pr", "1", "--sha", "aaa111"])
        .expect_code(0);
    assert!(
        up.stdout()
            .contains("https://wildside-pr-1.preview.example.com"),
        "{}",
        up.stdout()
    );
    assert_eq!(previews.message(1), "aaa111");
    previews
        .preview(
            "2030-01-01T00:10:00Z",
            &["up", "--pr", "1", "--sha", "bbb222"],
        )
        .expect_code(0);
    assert_eq!(
        previews.message(1),
        "bbb222",
        "a new commit updates the same preview"
    );
    let list = previews.list("2030-01-01T00:40:00Z");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["status"], "ready");
    assert_eq!(list[0]["sha"], "bbb222");
    assert_eq!(list[0]["expires"], "2030-01-01T01:10:00Z");
    assert_eq!(list[0]["age_hours"], 0.7);
    assert!(
        previews
            .bao
            .kv_json(DEV_ROOT_TOKEN, "get", "wildside/preview/pr-1/message")
            .is_some()
    );

    previews.preview(T0, &["down", "--pr", "1"]).expect_code(0);
    assert!(previews.list(T0).is_empty());
    assert!(
        previews
            .bao
            .kv_json(DEV_ROOT_TOKEN, "get", "wildside/preview/pr-1/message")
            .is_none()
    );
    previews.preview(T0, &["down", "--pr", "1"]).expect_code(0);
}

#[test]
fn capacity_pins_ttl_and_gc_follow_the_clock() {
    let previews = Previews::new(3);
    for pr in ["1", "2", "3"] {
        previews
            .preview(T0, &["up", "--pr", pr, "--sha", "s"])
            .expect_code(0);
    }
    let refused = previews
        .preview(T0, &["up", "--pr", "4", "--sha", "s"])
        .expect_code(1);
    assert!(
        refused
            .stderr()
            .contains("all 3 are taken by pr-1, pr-2, pr-3"),
        "{}",
        refused.stderr()
    );
    previews
        .preview("2030-01-01T00:30:00Z", &["up", "--pr", "2", "--sha", "s2"])
        .expect_code(0);

    let too_long = previews
        .preview(T0, &["pin", "--pr", "1", "--for", "49h"])
        .expect_code(1);
    assert!(
        too_long.stderr().contains("at most 48h"),
        "{}",
        too_long.stderr()
    );
    previews
        .preview(T0, &["pin", "--pr", "1", "--for", "24h"])
        .expect_code(0);
    let second = previews
        .preview(T0, &["pin", "--pr", "2", "--for", "1h"])
        .expect_code(1);
    assert!(
        second.stderr().contains("already are"),
        "{}",
        second.stderr()
    );

    // Orphans both ways: a workspace with no record, and a record with no workspace.
    previews
        .run(T0)
        .args(["up", "preview", "-w", "pr-9"])
        .env("TF_VAR_commit_sha", "orphan")
        .output()
        .expect_code(0);
    previews
        .run(T0)
        .args(["down", "preview", "-w", "pr-3", "--delete-workspace"])
        .env("TF_VAR_commit_sha", "s")
        .output()
        .expect_code(0);

    let later = "2030-01-01T02:00:00Z";
    let dry = previews
        .preview(
            later,
            &[
                "--output",
                "json",
                "gc",
                "--open-prs",
                "1,2,3,9",
                "--dry-run",
            ],
        )
        .expect_code(0);
    let planned: Vec<(u64, String)> = dry.json()["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|action| {
            (
                action["pr"].as_u64().unwrap(),
                action["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        planned,
        vec![
            (2, "expired".to_string()),
            (3, "orphan_record".to_string()),
            (9, "orphan_workspace".to_string())
        ],
        "pr-1 is pinned"
    );
    assert_eq!(previews.list(later).len(), 4, "a dry run removes nothing");
    previews
        .preview(later, &["gc", "--open-prs", "1,2,3,9"])
        .expect_code(0);
    let left = previews.list(later);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["pr"], 1);

    previews
        .preview(later, &["gc", "--open-prs", "2"])
        .expect_code(0);
    assert!(
        previews.list(later).is_empty(),
        "a closed pull request's preview goes even when pinned; no orphans remain"
    );
}

#[test]
fn concurrent_ci_jobs_lose_no_record_and_corrupt_no_state() {
    let previews = Previews::new(21);
    // Initialise once, so the jobs race for the ledger and the state, not for the first init.
    previews
        .run(T0)
        .args(["plan", "preview"])
        .env("TF_VAR_commit_sha", "init")
        .output()
        .expect_code(0);
    let spawn = |pr: u64| -> Child {
        previews
            .run(T0)
            .args([
                "preview",
                "up",
                "--pr",
                &pr.to_string(),
                "--sha",
                &format!("sha{pr}"),
            ])
            .spawn()
    };
    for batch in (1..=20).collect::<Vec<u64>>().chunks(4) {
        let children: Vec<Child> = batch.iter().map(|pr| spawn(*pr)).collect();
        for child in children {
            Done(child.wait_with_output().unwrap()).expect_code(0);
        }
    }
    let list = previews.list(T0);
    assert_eq!(list.len(), 20, "records were lost: {list:?}");
    assert!(
        list.iter()
            .all(|row| row["status"] == "ready" && row["workspace"] == true)
    );

    let (first, second) = (spawn(21), spawn(21));
    let outcomes = [
        Done(first.wait_with_output().unwrap()),
        Done(second.wait_with_output().unwrap()),
    ];
    for outcome in &outcomes {
        assert!(
            outcome.code() == 0 || outcome.stderr().contains("state lock"),
            "{}",
            outcome.stderr()
        );
    }
    assert!(outcomes.iter().any(|outcome| outcome.code() == 0));
    let record = previews
        .list(T0)
        .into_iter()
        .find(|row| row["pr"] == 21)
        .expect("the record of pr-21");
    assert_eq!(record["status"], "ready");
    assert_eq!(previews.message(21), "sha21");
    previews
        .run(T0)
        .args(["plan", "preview", "-w", "pr-21", "--detailed-exitcode"])
        .env("TF_VAR_commit_sha", "sha21")
        .output()
        .expect_code(0);
}

#[test]
fn gc_asks_github_which_pull_requests_are_open() {
    let previews = Previews::new(5);
    let github = GitHubDouble::start();
    github.open_pulls.lock().unwrap().push(1);
    for pr in ["1", "2"] {
        previews
            .preview(T0, &["up", "--pr", pr, "--sha", "s"])
            .expect_code(0);
    }
    let gc = previews
        .run(T0)
        .args([
            "preview",
            "gc",
            "--github-repo",
            "o/r",
            "--api-url",
            &github.api_url(),
        ])
        .env("GITHUB_TOKEN", "token-for-the-double")
        .output()
        .expect_code(0);
    assert!(
        gc.stdout().contains("removed pr-2: Closed"),
        "{}",
        gc.stdout()
    );
    let left: Vec<u64> = previews
        .list(T0)
        .iter()
        .map(|row| row["pr"].as_u64().unwrap())
        .collect();
    assert_eq!(left, vec![1]);
}

/// Writes `document` as the preview ledger and returns its version.
fn put_ledger(previews: &Previews, document: &serde_json::Value) -> u64 {
    let file = previews.project.path().join("ledger.json");
    std::fs::write(&file, document.to_string()).unwrap();
    let put = previews.bao.cli(
        DEV_ROOT_TOKEN,
        &[
            "kv",
            "put",
            "-mount=secret",
            "wildside/preview/previews",
            &format!("@{}", file.display()),
        ],
    );
    assert!(put.status.success(), "{put:?}");
    ledger_version(previews)
}

fn ledger_version(previews: &Previews) -> u64 {
    previews
        .bao
        .kv_json(DEV_ROOT_TOKEN, "metadata get", "wildside/preview/previews")
        .unwrap()["data"]["current_version"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_ledger_that_does_not_decode_is_never_overwritten() {
    let previews = Previews::new(5);
    let record = |status: &str, expires: &str| {
        serde_json::json!({
            "pr": 7, "sha": "abc", "creator": "ci", "created": T0, "updated": T0,
            "expires": expires, "status": status
        })
    };
    for document in [
        serde_json::json!({ "records": "not a list" }),
        serde_json::json!({ "records": [record("hibernating", "2030-01-02T00:00:00Z")] }),
        serde_json::json!({ "records": [record("ready", "next tuesday")] }),
        serde_json::json!({ "records": [record("ready", "2030-01-02T00:00:00Z")], "extra": 1 }),
    ] {
        let version = put_ledger(&previews, &document);
        for args in [
            &["up", "--pr", "1", "--sha", "aaa111"][..],
            &["list"],
            &["gc", "--open-prs", "1"],
            &["pin", "--pr", "7", "--for", "1h"],
        ] {
            let done = previews.preview(T0, args);
            assert_eq!(done.code(), 1, "{args:?} on {document}: {}", done.stderr());
            assert!(
                done.stderr().contains("preview ledger")
                    && done.stderr().contains("cannot be read"),
                "{args:?} on {document}: {}",
                done.stderr()
            );
        }
        assert_eq!(
            ledger_version(&previews),
            version,
            "{document} was replaced"
        );
    }
}

#[test]
fn a_preview_records_its_cost_a_day_and_a_record_without_one_reads_as_unknown() {
    let previews = Previews::new(5);
    // A record written before previews were priced: it has no cost, and still decodes.
    put_ledger(
        &previews,
        &serde_json::json!({ "records": [{
            "pr": 7, "sha": "abc", "creator": "ci", "created": T0, "updated": T0,
            "expires": "2030-01-02T00:00:00Z", "status": "ready"
        }] }),
    );
    let comment = previews.project.path().join("comment.md");
    previews
        .preview(
            T0,
            &[
                "up",
                "--pr",
                "1",
                "--sha",
                "aaa111",
                "--comment",
                comment.to_str().unwrap(),
            ],
        )
        .expect_code(0);
    let list = previews.list(T0);
    assert_eq!(list.len(), 2);
    // The example module holds only terraform_data: nothing DigitalOcean bills, a known zero.
    assert_eq!(
        list[0]["cost_per_day"],
        serde_json::json!({ "known_usd": 0.0, "unknown": 0, "lines": [] }),
        "{list:?}"
    );
    assert_eq!(list[1]["pr"], 7);
    assert!(list[1]["cost_per_day"].is_null(), "{list:?}");
    let human = previews
        .run(T0)
        .args(["preview", "list"])
        .output()
        .expect_code(0);
    let text = human.stdout();
    let row = |pr: &str| text.lines().find(|line| line.starts_with(pr)).unwrap();
    assert!(row("pr-1 ").contains("$0.00"), "{text}");
    assert!(row("pr-7 ").contains("unknown"), "{text}");
    assert!(
        !row("pr-7 ").contains('$'),
        "never zero for unknown: {text}"
    );
    assert!(text.contains("cost a day: 24 hourly prices"), "{text}");
    assert!(text.contains("pr-1: no DigitalOcean resources"), "{text}");
    assert!(text.contains("pr-7: unknown: not estimated"), "{text}");
    let comment = std::fs::read_to_string(&comment).unwrap();
    assert!(
        comment.starts_with("<!-- wildside-tofu:preview -->"),
        "{comment}"
    );
    assert!(
        comment.contains("**ready** at https://wildside-pr-1.preview.example.com for `aaa111`")
    );
    assert!(comment.contains("Cost: **$0.00 a day**"), "{comment}");
    let ledger = previews
        .bao
        .kv_json(DEV_ROOT_TOKEN, "get", "wildside/preview/previews")
        .unwrap();
    let records = ledger["data"]["data"]["records"].as_array().unwrap();
    assert!(records[0]["cost_per_day"].is_object(), "{ledger}");
    assert!(
        records[1].get("cost_per_day").is_none(),
        "the old record is kept as it was: {ledger}"
    );
    previews.preview(T0, &["down", "--pr", "1"]).expect_code(0);
}

/// A module whose destruction fails while the file `<dir>/fail-<pr>` exists.
const GUARDED_MODULE: &str = r#"
variable "dir" {
  type = string
}

variable "pr" {
  type = number
}

resource "terraform_data" "guard" {
  input = "${var.dir}/fail-${var.pr}"

  provisioner "local-exec" {
    when    = destroy
    command = "test ! -e ${self.input}"
  }
}
"#;

#[test]
fn gc_carries_on_after_a_failed_destroy_and_reports_it() {
    let previews = Previews::new(5);
    let root = previews.project.path();
    std::fs::create_dir_all(root.join("modules/guarded")).unwrap();
    std::fs::write(root.join("modules/guarded/main.tf"), GUARDED_MODULE).unwrap();
    let markers = root.join("markers");
    std::fs::create_dir_all(&markers).unwrap();
    previews.project.stack(
        "preview",
        &format!(
            "[vault]\naddress = \"{}\"\n\n[preview]\nmax_concurrent = 5\nmax_pins = 1\nttl = \"1h\"\n\n[[modules]]\nname = \"app\"\nsource = \"guarded\"\ninputs = {{ dir = \"{}\" }}\npreview_inputs = {{ pr = \"pr_number\" }}\n",
            previews.bao.address(),
            markers.display()
        ),
    );
    for pr in ["1", "2", "3"] {
        previews
            .preview(T0, &["up", "--pr", pr, "--sha", "s"])
            .expect_code(0);
    }
    std::fs::write(markers.join("fail-1"), "").unwrap();
    std::fs::write(markers.join("fail-2"), "").unwrap();

    let gc = previews.preview(T0, &["gc", "--open-prs", "99"]);
    assert_eq!(gc.code(), 1, "{}\n{}", gc.stdout(), gc.stderr());
    for pr in ["pr-1", "pr-2"] {
        assert!(
            gc.stdout().contains(&format!("failed to remove {pr}")),
            "{}",
            gc.stdout()
        );
    }
    assert!(gc.stdout().contains("removed pr-3"), "{}", gc.stdout());
    let list = previews.list(T0);
    let statuses: Vec<(u64, &str)> = list
        .iter()
        .map(|row| (row["pr"].as_u64().unwrap(), row["status"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses, vec![(1, "failed"), (2, "failed")]);

    std::fs::remove_file(markers.join("fail-1")).unwrap();
    std::fs::remove_file(markers.join("fail-2")).unwrap();
    previews
        .preview(T0, &["gc", "--open-prs", "99"])
        .expect_code(0);
    assert!(previews.list(T0).is_empty());
}
