//! `preview gc` racing `preview up`, `pin` and `down` on 20 previews, round after round, with the sandbox's
//! faults on. Each preview is a tag in the sandbox, created and deleted by the preview's own calls to the
//! sandbox's API (a `local-exec` with curl), which fail with 5xx and 429 as the faults say: so the sandbox
//! shows which previews are alive, and failed ups and destroys happen in every round. Each round moves the
//! clock two hours on, so every preview neither renewed nor pinned since the round before has expired.
//!
//! After every round: no live preview of an open pull request was destroyed (one renewed or pinned in the
//! round, or pinned before and still pinned), and no record was lost (every workspace has its record and
//! every record its workspace, none left `destroying`).
//!
//! `WILDSIDE_GC_RACE_ROUNDS` sets the number of rounds (default 20).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::process::Child;
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::{DEV_ROOT_TOKEN, Done, OpenBao, Project, Run, Sandbox};

const PREVIEWS: u64 = 20;
/// Commands of a round that run at once, besides gc.
const WORKERS: usize = 5;
const FAULTS: &str = "5xx=0.08,429=0.04,seed=18";

/// A preview that lives in the sandbox as the tag `preview-pr-<n>`.
const MODULE: &str = r#"
variable "api" {
  type = string
}

variable "pr" {
  type = number
}

resource "terraform_data" "preview" {
  input = {
    api = var.api
    tag = "preview-pr-${var.pr}"
  }

  provisioner "local-exec" {
    command = "curl -sf -o /dev/null -X POST -H 'Authorization: Bearer wildside-sandbox-token' -H 'Content-Type: application/json' -d '{\"name\":\"${self.input.tag}\"}' ${self.input.api}/v2/tags"
  }

  provisioner "local-exec" {
    when    = destroy
    command = "code=$(curl -s -o /dev/null -w '%%{http_code}' -X DELETE -H 'Authorization: Bearer wildside-sandbox-token' ${self.input.api}/v2/tags/${self.input.tag}); [ \"$code\" = 204 ] || [ \"$code\" = 404 ]"
  }
}
"#;

fn stack(vault: &str, sandbox: &str) -> String {
    format!(
        r#"
[vault]
address = "{vault}"

[preview]
max_concurrent = {PREVIEWS}
max_pins = {PREVIEWS}
ttl = "1h"

[[modules]]
name = "app"
source = "tagged"
inputs = {{ api = "{sandbox}" }}
preview_inputs = {{ pr = "pr_number" }}
"#
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Up,
    Pin,
    Down,
    Idle,
}

/// What one round asked of each preview, and how each command ended.
struct Round {
    now: Timestamp,
    acts: BTreeMap<u64, Act>,
    codes: BTreeMap<u64, i32>,
    stderr: BTreeMap<u64, String>,
}

fn rounds() -> u64 {
    std::env::var("WILDSIDE_GC_RACE_ROUNDS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(20)
}

struct Race {
    project: Project,
    sandbox: Sandbox,
    _bao: OpenBao,
}

impl Race {
    fn run(&self, now: Timestamp) -> Run {
        self.project
            .run()
            .env("VAULT_TOKEN", DEV_ROOT_TOKEN)
            .env("WILDSIDE_NOW", now.to_string())
    }

    fn command(&self, now: Timestamp, pr: u64, act: Act, round: u64) -> Option<Child> {
        let pr_text = pr.to_string();
        let args: Vec<String> = match act {
            Act::Up => vec![
                "up".into(),
                "--pr".into(),
                pr_text,
                "--sha".into(),
                format!("round{round}"),
            ],
            Act::Pin => vec![
                "pin".into(),
                "--pr".into(),
                pr_text,
                "--for".into(),
                "3h".into(),
            ],
            Act::Down => vec!["down".into(), "--pr".into(), pr_text],
            Act::Idle => return None,
        };
        Some(self.run(now).args(["preview", "--yes"]).args(args).spawn())
    }

    /// Runs gc and every preview's command of the round at once (`WORKERS` of the commands at a time).
    fn round(&self, round: u64, now: Timestamp, acts: BTreeMap<u64, Act>) -> (Round, Done) {
        let open: Vec<String> = (1..=PREVIEWS).map(|pr| pr.to_string()).collect();
        let gc = self
            .run(now)
            .args(["preview", "gc", "--yes", "--open-prs", &open.join(",")])
            .spawn();
        let queue: Arc<Mutex<VecDeque<(u64, Act)>>> = Arc::new(Mutex::new(
            acts.iter().map(|(pr, act)| (*pr, *act)).collect(),
        ));
        let results: Arc<Mutex<Vec<(u64, Done)>>> = Arc::default();
        std::thread::scope(|scope| {
            for _ in 0..WORKERS {
                let queue = Arc::clone(&queue);
                let results = Arc::clone(&results);
                scope.spawn(move || {
                    loop {
                        let Some((pr, act)) = queue.lock().unwrap().pop_front() else {
                            return;
                        };
                        if let Some(child) = self.command(now, pr, act, round) {
                            let done = Done(child.wait_with_output().unwrap());
                            results.lock().unwrap().push((pr, done));
                        }
                    }
                });
            }
        });
        let gc = Done(gc.wait_with_output().unwrap());
        let mut codes = BTreeMap::new();
        let mut stderr = BTreeMap::new();
        for (pr, done) in results.lock().unwrap().drain(..) {
            codes.insert(pr, done.code());
            stderr.insert(pr, done.stderr());
        }
        (
            Round {
                now,
                acts,
                codes,
                stderr,
            },
            gc,
        )
    }

    /// Every preview as `preview list` shows it: pull request to (status, workspace, pinned until).
    fn listed(&self, now: Timestamp) -> BTreeMap<u64, (String, bool, Option<Timestamp>)> {
        let done = self
            .run(now)
            .args(["--output", "json", "preview", "list"])
            .output()
            .expect_code(0);
        done.json()["previews"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row["pr"].as_u64().unwrap(),
                    (
                        row["status"].as_str().unwrap().to_string(),
                        row["workspace"].as_bool().unwrap(),
                        row["pinned_until"]
                            .as_str()
                            .map(|text| text.parse().unwrap()),
                    ),
                )
            })
            .collect()
    }

    /// The previews alive in the sandbox: its tags.
    fn alive(&self) -> BTreeSet<u64> {
        let state: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&self.sandbox.state).unwrap()).unwrap();
        state["tags"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|tag| tag.as_str()?.strip_prefix("preview-pr-")?.parse().ok())
            .collect()
    }
}

#[test]
fn gc_racing_up_pin_and_down_destroys_no_live_preview_and_loses_no_record() {
    let bao = OpenBao::dev();
    let project = Project::new();
    let sandbox = Sandbox::start(project.path(), &["--faults", FAULTS]);
    std::fs::create_dir_all(project.path().join("modules/tagged")).unwrap();
    std::fs::write(project.path().join("modules/tagged/main.tf"), MODULE).unwrap();
    project.stack("preview", &stack(&bao.address(), &sandbox.url));
    let race = Race {
        project,
        sandbox,
        _bao: bao,
    };
    let t0: Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
    // Initialise once, so the commands race for the ledger and the previews, not for the first init.
    race.run(t0)
        .args(["plan", "preview"])
        .output()
        .expect_code(0);

    let mut rng = StdRng::seed_from_u64(18);
    let mut pinned_until: BTreeMap<u64, Timestamp> = BTreeMap::new();
    let mut tally = BTreeMap::<&str, usize>::new();
    let started = std::time::Instant::now();
    for round in 0..=rounds() {
        let now = t0 + SignedDuration::from_hours(2 * i64::try_from(round).unwrap());
        let acts: BTreeMap<u64, Act> = (1..=PREVIEWS)
            .map(|pr| {
                let act = match (round, rng.random_range(0..20)) {
                    (0, _) => Act::Up,
                    (_, 0..8) => Act::Up,
                    (_, 8..12) => Act::Pin,
                    (_, 12..15) => Act::Down,
                    _ => Act::Idle,
                };
                (pr, act)
            })
            .collect();
        let (outcome, gc) = race.round(round, now, acts);
        let listed = race.listed(now);
        let alive = race.alive();
        let context = || {
            format!(
                "round {round} at {now}\nlisted: {listed:?}\nalive: {alive:?}\nacts: {:?}\ncodes: {:?}\ngc (exit {}): {}{}",
                outcome.acts,
                outcome.codes,
                gc.code(),
                gc.stdout(),
                gc.stderr()
            )
        };
        // No record lost: workspaces and records match, and no destroyer left its mark behind.
        for (pr, (status, workspace, _)) in &listed {
            assert!(
                *workspace && !status.starts_with("orphan") && status != "destroying",
                "pr-{pr} is {status} (workspace: {workspace}): a record or a workspace was lost\n{}",
                context()
            );
        }
        for (pr, act) in &outcome.acts {
            let code = outcome.codes.get(pr).copied();
            let key = match (act, code) {
                (Act::Up, Some(0)) => "up",
                (Act::Up, _) => "up refused or failed",
                (Act::Pin, Some(0)) => "pin",
                (Act::Pin, _) => "pin refused",
                (Act::Down, Some(0)) => "down",
                (Act::Down, _) => "down failed",
                (Act::Idle, _) => "idle",
            };
            *tally.entry(key).or_default() += 1;
            match (act, code) {
                (Act::Up, Some(0)) => {
                    let row = listed.get(pr);
                    assert!(
                        row.is_some_and(|(status, ..)| status == "ready") && alive.contains(pr),
                        "pr-{pr} came up in this round, and is gone ({row:?})\n{}",
                        context()
                    );
                }
                (Act::Pin, Some(0)) => {
                    pinned_until.insert(*pr, outcome.now + SignedDuration::from_hours(3));
                }
                (Act::Down, Some(0)) => {
                    pinned_until.remove(pr);
                    assert!(
                        !listed.contains_key(pr) && !alive.contains(pr),
                        "pr-{pr} went down in this round, and is still there\n{}",
                        context()
                    );
                }
                (Act::Up | Act::Pin | Act::Down, Some(_)) => {
                    let stderr = &outcome.stderr[pr];
                    assert!(
                        !stderr.contains("panicked") && !stderr.contains("unreachable"),
                        "pr-{pr}: {stderr}\n{}",
                        context()
                    );
                }
                _ => {}
            }
        }
        // A pin in force keeps its preview, whatever gc read.
        pinned_until.retain(|_, until| *until > now);
        for pr in pinned_until.keys() {
            if outcome.acts[pr] == Act::Down && outcome.codes.get(pr) != Some(&0) {
                // A failed `preview down` leaves the preview `failed`, still recorded.
                assert!(listed.contains_key(pr), "pr-{pr}\n{}", context());
                continue;
            }
            let row = listed.get(pr);
            assert!(
                row.is_some_and(|(_, _, until)| until.is_some_and(|until| until > now)),
                "pr-{pr} is pinned, and its record is gone or unpinned ({row:?})\n{}",
                context()
            );
            if row.is_some_and(|(status, ..)| status == "ready") {
                assert!(
                    alive.contains(pr),
                    "pr-{pr} is pinned and ready, and gone from the sandbox\n{}",
                    context()
                );
            }
        }
        eprintln!(
            "round {round}: {} previews, {} alive, {:.0?} so far",
            listed.len(),
            alive.len(),
            started.elapsed()
        );
    }
    eprintln!("commands over all rounds: {tally:?}");
    assert!(
        tally.get("up").is_some_and(|ups| *ups > 0)
            && tally.get("pin").is_some_and(|pins| *pins > 0),
        "the race ran ups and pins: {tally:?}"
    );
}
