//! Previews with real tofu and a real OpenBao: lifecycle and in-place updates, capacity, pins, TTL and gc
//! driven by a clock the test sets (`WILDSIDE_NOW`), and concurrent CI jobs. The preview stack uses the
//! example module, so it needs no cloud; previews of platform stacks, which need the `digitalocean/digitalocean`
//! provider, are tested in `sandbox_provider`.

use std::process::Child;

use crate::support::{DEV_ROOT_TOKEN, Done, GitHubDouble, OpenBao, Project, Run};

pub(crate) fn preview_stack(address: &str, max_concurrent: u32) -> String {
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
        .preview(T0, &["up", "--yes", "--pr", "1", "--sha", "aaa111"])
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
            &["up", "--yes", "--pr", "1", "--sha", "bbb222"],
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

    previews
        .preview(T0, &["down", "--yes", "--pr", "1"])
        .expect_code(0);
    assert!(previews.list(T0).is_empty());
    assert!(
        previews
            .bao
            .kv_json(DEV_ROOT_TOKEN, "get", "wildside/preview/pr-1/message")
            .is_none()
    );
    previews
        .preview(T0, &["down", "--yes", "--pr", "1"])
        .expect_code(0);
}

#[test]
fn capacity_pins_ttl_and_gc_follow_the_clock() {
    let previews = Previews::new(3);
    for pr in ["1", "2", "3"] {
        previews
            .preview(T0, &["up", "--yes", "--pr", pr, "--sha", "s"])
            .expect_code(0);
    }
    let refused = previews
        .preview(T0, &["up", "--yes", "--pr", "4", "--sha", "s"])
        .expect_code(1);
    assert!(
        refused
            .stderr()
            .contains("all 3 are taken by pr-1, pr-2, pr-3"),
        "{}",
        refused.stderr()
    );
    previews
        .preview(
            "2030-01-01T00:30:00Z",
            &["up", "--yes", "--pr", "2", "--sha", "s2"],
        )
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
        .args(["up", "--yes", "preview", "-w", "pr-9"])
        .env("TF_VAR_commit_sha", "orphan")
        .output()
        .expect_code(0);
    previews
        .run(T0)
        .args([
            "down",
            "--yes",
            "preview",
            "-w",
            "pr-3",
            "--delete-workspace",
        ])
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
                "--yes",
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
        .preview(later, &["gc", "--yes", "--open-prs", "1,2,3,9"])
        .expect_code(0);
    let left = previews.list(later);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["pr"], 1);

    previews
        .preview(later, &["gc", "--yes", "--open-prs", "2"])
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
                "--yes",
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
            .preview(T0, &["up", "--yes", "--pr", pr, "--sha", "s"])
            .expect_code(0);
    }
    let gc = previews
        .run(T0)
        .args([
            "preview",
            "gc",
            "--yes",
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
            &["up", "--yes", "--pr", "1", "--sha", "aaa111"][..],
            &["list"],
            &["gc", "--yes", "--open-prs", "1"],
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
                "--yes",
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
    previews
        .preview(T0, &["down", "--yes", "--pr", "1"])
        .expect_code(0);
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
            .preview(T0, &["up", "--yes", "--pr", pr, "--sha", "s"])
            .expect_code(0);
    }
    std::fs::write(markers.join("fail-1"), "").unwrap();
    std::fs::write(markers.join("fail-2"), "").unwrap();

    let gc = previews.preview(T0, &["gc", "--yes", "--open-prs", "99"]);
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
        .preview(T0, &["gc", "--yes", "--open-prs", "99"])
        .expect_code(0);
    assert!(previews.list(T0).is_empty());
}

/// A `preview gc` stopped once it has read the ledger and planned (the test-hooks pause), until released.
struct PausedGc {
    child: Child,
    release: std::path::PathBuf,
}

impl PausedGc {
    fn start(previews: &Previews, now: &str, args: &[&str]) -> Self {
        let release = previews.project.path().join("release-gc");
        let planned = previews.project.path().join("release-gc.planned");
        let _ = std::fs::remove_file(&release);
        let _ = std::fs::remove_file(&planned);
        let mut child = previews
            .run(now)
            .env("WILDSIDE_GC_PAUSE", &release)
            .args(["--output", "json", "preview", "gc", "--yes"])
            .args(args)
            .spawn();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while !planned.exists() {
            if let Some(status) = child.try_wait().unwrap() {
                let done = Done(child.wait_with_output().unwrap());
                panic!("gc ended ({status}) before planning: {}", done.stderr());
            }
            assert!(std::time::Instant::now() < deadline, "gc never planned");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self { child, release }
    }

    fn finish(self) -> Done {
        std::fs::write(&self.release, "").unwrap();
        Done(self.child.wait_with_output().unwrap())
    }
}

fn rows(list: &[serde_json::Value]) -> Vec<(u64, String, bool)> {
    list.iter()
        .map(|row| {
            (
                row["pr"].as_u64().unwrap(),
                row["status"].as_str().unwrap().to_string(),
                row["workspace"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// gc plans from what it read at the start, but each removal is decided again, on the record as it is when
/// gc marks it: a preview renewed or pinned after the read is kept, and so is a workspace that got a record.
#[test]
fn gc_decides_each_removal_again_on_the_record_as_it_is_now() {
    let previews = Previews::new(5);
    for pr in ["1", "2", "3"] {
        previews
            .preview(T0, &["up", "--yes", "--pr", pr, "--sha", "first"])
            .expect_code(0);
    }
    // A workspace without a record: gc plans to remove it as an orphan.
    previews
        .run(T0)
        .args(["up", "--yes", "preview", "-w", "pr-4"])
        .env("TF_VAR_commit_sha", "orphan")
        .output()
        .expect_code(0);
    let later = "2030-01-01T02:00:00Z";
    let gc = PausedGc::start(&previews, later, &["--open-prs", "1,2,3,4"]);
    previews
        .preview(later, &["up", "--yes", "--pr", "1", "--sha", "renewed"])
        .expect_code(0);
    previews
        .preview(later, &["pin", "--pr", "2", "--for", "3h"])
        .expect_code(0);
    previews
        .preview(later, &["up", "--yes", "--pr", "4", "--sha", "adopted"])
        .expect_code(0);
    let gc = gc.finish().expect_code(0);
    let report = gc.json();
    let planned: Vec<(u64, &str)> = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|action| {
            (
                action["pr"].as_u64().unwrap(),
                action["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        planned,
        vec![
            (1, "expired"),
            (2, "expired"),
            (3, "expired"),
            (4, "orphan_workspace")
        ]
    );
    assert_eq!(
        report["kept"],
        serde_json::json!([
            { "pr": 1, "reason": "renewed" },
            { "pr": 2, "reason": "pinned" },
            { "pr": 4, "reason": "renewed" },
        ]),
        "{}",
        gc.stdout()
    );
    assert_eq!(
        rows(&previews.list(later)),
        vec![
            (1, "ready".to_string(), true),
            (2, "ready".to_string(), true),
            (4, "ready".to_string(), true),
        ]
    );
    assert_eq!(previews.message(1), "renewed");
    assert_eq!(previews.message(4), "adopted");
    let human = previews
        .preview(later, &["gc", "--yes", "--open-prs", "1,2,4", "--dry-run"])
        .expect_code(0);
    assert_eq!(human.stdout(), "nothing to collect\n");
}

/// `preview up` writes its record before its workspace exists; gc leaves such a record alone until it has not
/// changed for the orphan grace period (15 minutes, `orphan_grace` in [preview], or `--orphan-grace`).
#[test]
fn a_record_without_a_workspace_is_an_orphan_only_after_the_grace_period() {
    let previews = Previews::new(5);
    put_ledger(
        &previews,
        &serde_json::json!({ "records": [{
            "pr": 5, "sha": "abc", "creator": "ci", "created": T0, "updated": T0,
            "expires": "2030-01-02T00:00:00Z", "status": "creating"
        }] }),
    );
    let planned = |now: &str, extra: &[&str]| -> Vec<serde_json::Value> {
        let mut args = vec!["--output", "json", "gc", "--yes", "--open-prs", "5"];
        args.extend(extra);
        previews.preview(now, &args).expect_code(0).json()["actions"]
            .as_array()
            .unwrap()
            .clone()
    };
    assert!(planned("2030-01-01T00:14:59Z", &["--dry-run"]).is_empty());
    assert!(planned("2030-01-01T00:14:59Z", &[]).is_empty());
    assert_eq!(rows(&previews.list(T0)).len(), 1, "the young record stays");
    assert!(planned("2030-01-01T00:20:00Z", &["--orphan-grace", "1h"]).is_empty());
    let stack = preview_stack(&previews.bao.address(), 5)
        .replace("ttl = \"1h\"", "ttl = \"1h\"\norphan_grace = \"30m\"");
    previews.project.stack("preview", &stack);
    assert!(planned("2030-01-01T00:20:00Z", &["--dry-run"]).is_empty());
    assert_eq!(
        planned("2030-01-01T00:31:00Z", &["--dry-run"]),
        vec![serde_json::json!({ "pr": 5, "reason": "orphan_record" })]
    );
    previews
        .project
        .stack("preview", &preview_stack(&previews.bao.address(), 5));
    assert_eq!(
        planned("2030-01-01T00:15:00Z", &[]),
        vec![serde_json::json!({ "pr": 5, "reason": "orphan_record" })]
    );
    assert!(previews.list(T0).is_empty());
}

/// A ledger that is missing while preview workspaces exist is refused by every command that would act on
/// it (they would take every live preview for an orphan), whether it was never there or its latest version
/// was deleted; `preview ledger rebuild` writes it again from the workspaces, and never over a ledger.
#[test]
fn a_missing_ledger_is_refused_and_rebuilt_from_the_workspaces() {
    let previews = Previews::new(5);
    for pr in ["1", "2"] {
        previews
            .preview(T0, &["up", "--yes", "--pr", pr, "--sha", "s"])
            .expect_code(0);
    }
    let ledger = "wildside/preview/previews";
    let deleted = previews.bao.cli(
        DEV_ROOT_TOKEN,
        &["kv", "metadata", "delete", "-mount=secret", ledger],
    );
    assert!(deleted.status.success(), "{deleted:?}");
    let refusals = |presence: &str| {
        for args in [
            &["gc", "--yes", "--open-prs", "1,2"][..],
            &["gc", "--yes", "--open-prs", "1,2", "--dry-run"],
            &["gc"],
            &["list"],
            &["up", "--yes", "--pr", "3", "--sha", "s"],
            &["pin", "--pr", "1", "--for", "1h"],
            &["down", "--yes", "--pr", "1"],
            &["hibernate", "--yes", "--pr", "1"],
        ] {
            let done = previews.preview(T0, args);
            assert_eq!(done.code(), 1, "{args:?}: {}", done.stderr());
            let stderr = done.stderr();
            assert!(
                stderr.contains(&format!("the preview ledger `{ledger}`"))
                    && stderr.contains(presence)
                    && stderr.contains("ledger rebuild")
                    && !stderr.contains("unreachable"),
                "{args:?}: {stderr}"
            );
        }
        assert_eq!(
            previews_listed_by_workspace(&previews),
            vec![1, 2],
            "nothing was destroyed"
        );
    };
    refusals("does not exist");
    assert!(
        previews
            .bao
            .kv_json(DEV_ROOT_TOKEN, "metadata get", ledger)
            .is_none(),
        "nothing was written"
    );

    let dry = previews
        .preview(
            "2030-01-01T00:10:00Z",
            &["--output", "json", "ledger", "rebuild", "--dry-run"],
        )
        .expect_code(0);
    assert_eq!(dry.json()["rebuilt"].as_array().unwrap().len(), 2);
    assert_eq!(
        dry.json()["found"],
        serde_json::json!({ "state": "never_written" })
    );
    assert!(
        previews
            .bao
            .kv_json(DEV_ROOT_TOKEN, "metadata get", ledger)
            .is_none()
    );
    let rebuilt = previews
        .preview("2030-01-01T00:10:00Z", &["ledger", "rebuild"])
        .expect_code(0);
    assert!(
        rebuilt.stdout().contains(
            "pr-1: ready, expires 2030-01-01T01:10:00Z (no expiry tag: the stack's ttl from now)"
        ),
        "{}",
        rebuilt.stdout()
    );
    assert_eq!(
        rows(&previews.list(T0)),
        vec![
            (1, "ready".to_string(), true),
            (2, "ready".to_string(), true)
        ]
    );
    let again = previews.preview(T0, &["ledger", "rebuild"]).expect_code(1);
    assert!(
        again
            .stderr()
            .contains("a rebuild never writes over a ledger")
            && again.stderr().contains("--merge"),
        "{}",
        again.stderr()
    );
    let version = ledger_version(&previews);
    let merged = previews
        .preview(T0, &["--output", "json", "ledger", "rebuild", "--merge"])
        .expect_code(0);
    assert_eq!(merged.json()["kept"], 2);
    assert_eq!(merged.json()["rebuilt"], serde_json::json!([]));
    assert_eq!(ledger_version(&previews), version, "nothing to add");

    // The latest version deleted: Vault answers 404 with the version's metadata, which is no outage.
    let deleted = previews
        .bao
        .cli(DEV_ROOT_TOKEN, &["kv", "delete", "-mount=secret", ledger]);
    assert!(deleted.status.success(), "{deleted:?}");
    refusals(&format!("was deleted (version {version})"));
    let rebuilt = previews
        .preview(T0, &["--output", "json", "ledger", "rebuild"])
        .expect_code(0);
    assert_eq!(
        rebuilt.json()["found"],
        serde_json::json!({ "state": "deleted", "version": version })
    );
    let gc = previews
        .preview("2030-01-01T00:20:00Z", &["gc", "--yes", "--open-prs", "1"])
        .expect_code(0);
    assert!(
        gc.stdout().contains("removed pr-2: Closed"),
        "{}",
        gc.stdout()
    );
    assert_eq!(
        rows(&previews.list(T0)),
        vec![(1, "ready".to_string(), true)]
    );
}

/// The preview workspaces, read from the state directory (the commands refuse to list them meanwhile).
fn previews_listed_by_workspace(previews: &Previews) -> Vec<u64> {
    let dir = previews
        .project
        .path()
        .join(".wildside/state/preview/workspaces");
    let mut prs: Vec<u64> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| {
            entry
                .unwrap()
                .file_name()
                .to_str()?
                .strip_prefix("pr-")?
                .parse()
                .ok()
        })
        .collect();
    prs.sort_unstable();
    prs
}

/// A preview marked `destroying` is neither brought up again nor pinned while that destruction runs;
/// `preview down` finishes it (a destroyer that died leaves the mark behind).
#[test]
fn a_preview_being_destroyed_is_not_brought_up_again_nor_pinned() {
    let previews = Previews::new(5);
    put_ledger(
        &previews,
        &serde_json::json!({ "records": [{
            "pr": 7, "sha": "abc", "creator": "ci", "created": T0, "updated": T0,
            "expires": "2030-01-02T00:00:00Z", "status": "destroying"
        }] }),
    );
    let version = ledger_version(&previews);
    for args in [
        &["up", "--yes", "--pr", "7", "--sha", "new"][..],
        &["pin", "--pr", "7", "--for", "1h"],
    ] {
        let refused = previews.preview(T0, args).expect_code(1);
        assert!(
            refused.stderr().contains(
                "the preview of pull request 7 is being destroyed (since 2030-01-01T00:00:00Z)"
            ) && refused.stderr().contains("`preview down --pr 7`"),
            "{args:?}: {}",
            refused.stderr()
        );
    }
    assert_eq!(ledger_version(&previews), version, "nothing was written");
    previews
        .preview(T0, &["down", "--yes", "--pr", "7"])
        .expect_code(0);
    assert!(previews.list(T0).is_empty());
    previews
        .preview(T0, &["up", "--yes", "--pr", "7", "--sha", "new"])
        .expect_code(0);
    assert_eq!(previews.message(7), "new");
}
