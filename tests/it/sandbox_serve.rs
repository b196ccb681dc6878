//! `wildside-sandbox serve` as a process: its state survives a restart, concurrent creates lose nothing, injected faults
//! follow their seed, and `--sandbox` changes nothing in the rendered files.

use crate::support::{Project, Sandbox};
use serde_json::{Value, json};

async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client.request(method, url).bearer_auth("serve-test");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn twenty_concurrent_creates_are_all_kept_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(dir.path(), &[]);
    let url = sandbox.url.clone();
    runtime().block_on(async {
        let client = reqwest::Client::new();
        let (_, vpc) = send(
            &client,
            reqwest::Method::POST,
            format!("{url}/v2/vpcs"),
            Some(json!({"name": "concurrent", "region": "nyc3", "ip_range": "10.40.0.0/16"})),
        )
        .await;
        let vpc_id = vpc["vpc"]["id"].as_str().unwrap().to_string();
        let creates = (0..20).map(|index| {
            let client = client.clone();
            let url = url.clone();
            let vpc_id = vpc_id.clone();
            async move {
                send(
                    &client,
                    reqwest::Method::POST,
                    format!("{url}/v2/droplets"),
                    Some(json!({
                        "name": format!("node-{index}"), "region": "nyc3", "size": "s-1vcpu-1gb",
                        "image": "ubuntu-24-04-x64", "vpc_uuid": vpc_id,
                    })),
                )
                .await
            }
        });
        let answers = futures_util::future::join_all(creates).await;
        assert!(
            answers.iter().all(|(status, _)| *status == 202),
            "{answers:?}"
        );
        let addresses: std::collections::BTreeSet<_> = answers
            .iter()
            .map(|(_, body)| body["droplet"]["networks"]["v4"][0]["ip_address"].to_string())
            .collect();
        assert_eq!(
            addresses.len(),
            20,
            "every droplet has its own private address"
        );
    });
    sandbox.stop();

    let restarted = Sandbox::start(dir.path(), &[]);
    let url = restarted.url.clone();
    runtime().block_on(async {
        let client = reqwest::Client::new();
        let (status, listed) = send(
            &client,
            reqwest::Method::GET,
            format!("{url}/v2/droplets?per_page=200"),
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(listed["meta"]["total"], 20, "{listed}");
        let (_, page) = send(
            &client,
            reqwest::Method::GET,
            format!("{url}/v2/droplets?per_page=8&page=3"),
            None,
        )
        .await;
        assert_eq!(page["droplets"].as_array().unwrap().len(), 4);
        assert!(page["links"]["pages"].get("next").is_none());
        assert!(
            page["links"]["pages"]["prev"]
                .as_str()
                .unwrap()
                .contains("page=2")
        );
    });
}

#[test]
fn a_state_file_that_does_not_decode_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("sandbox.json");
    std::fs::write(&state, "{\"vpcs\": {\"x\": 1}}").unwrap();
    let output = std::process::Command::new(crate::support::sandbox_binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("does not decode"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        "{\"vpcs\": {\"x\": 1}}"
    );
}

#[test]
fn bad_requests_get_digitaloceans_status_and_body() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(dir.path(), &[]);
    let url = sandbox.url.clone();
    runtime().block_on(async {
        let client = reqwest::Client::new();
        let anonymous = client.get(format!("{url}/v2/droplets")).send().await.unwrap();
        assert_eq!(anonymous.status().as_u16(), 401);
        let body: Value = anonymous.json().await.unwrap();
        assert_eq!(body["id"], "Unauthorized");
        let cases = [
            (reqwest::Method::GET, "/v2/volumes/no-such-volume", None, 404, "not_found"),
            (reqwest::Method::POST, "/v2/vpcs", Some(json!({"name": "x", "region": "mars1"})), 422, "unprocessable_entity"),
            (reqwest::Method::POST, "/v2/vpcs", Some(json!({"region": "nyc3"})), 422, "unprocessable_entity"),
            (reqwest::Method::POST, "/v2/droplets", Some(json!({"name": "x", "region": "nyc3", "size": "huge", "image": "ubuntu-24-04-x64"})), 422, "unprocessable_entity"),
            (reqwest::Method::GET, "/v2/nothing-here", None, 404, "not_found"),
        ];
        for (method, path, body, status, id) in cases {
            let (got, answer) = send(&client, method.clone(), format!("{url}{path}"), body).await;
            assert_eq!(got, status, "{method} {path}: {answer}");
            assert_eq!(answer["id"], id, "{method} {path}: {answer}");
            assert!(answer["message"].as_str().is_some_and(|message| !message.is_empty()));
            assert!(answer["request_id"].as_str().is_some());
        }
        let malformed = client
            .post(format!("{url}/v2/vpcs"))
            .bearer_auth("serve-test")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(malformed.status().as_u16(), 400);
    });
}

#[test]
fn faults_follow_their_seed_and_carry_rate_limit_headers() {
    let statuses = || {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::start(dir.path(), &["--faults", "5xx=0.3,429=0.2,seed=11"]);
        let url = sandbox.url.clone();
        runtime().block_on(async {
            let client = reqwest::Client::new();
            let mut statuses = Vec::new();
            for _ in 0..60 {
                let response = client
                    .get(format!("{url}/v2/regions"))
                    .bearer_auth("serve-test")
                    .send()
                    .await
                    .unwrap();
                assert!(response.headers().contains_key("ratelimit-limit"));
                assert!(response.headers().contains_key("ratelimit-reset"));
                if response.status().as_u16() == 429 {
                    assert_eq!(response.headers()["ratelimit-remaining"], "0");
                    assert!(response.headers().contains_key("retry-after"));
                }
                statuses.push(response.status().as_u16());
            }
            statuses
        })
    };
    let first = statuses();
    assert_eq!(first, statuses(), "the same seed gives the same faults");
    let count = |status: u16| first.iter().filter(|s| **s == status).count();
    assert!((8..=30).contains(&count(500)), "{first:?}");
    assert!((4..=22).contains(&count(429)), "{first:?}");
    assert_eq!(count(500) + count(429) + count(200), 60);
}

#[test]
fn rendered_files_are_the_same_with_and_without_a_sandbox() {
    let project = Project::new();
    let stack =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/prod.toml")).unwrap();
    project.stack("prod", &stack);
    let render = |sandbox: Option<&str>| {
        let out = project.path().join(format!("out-{}", sandbox.is_some()));
        let mut run = project.run();
        if let Some(url) = sandbox {
            run = run.args(["--sandbox", url]);
        }
        run.args(["render", "prod", "--out"])
            .args([&out])
            .output()
            .expect_code(0);
        let mut files: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|entry| {
                let path = entry.unwrap().path();
                (
                    path.file_name().unwrap().to_owned(),
                    std::fs::read(&path).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    };
    let plain = render(None);
    assert!(!plain.is_empty());
    assert_eq!(plain, render(Some("http://127.0.0.1:9")));
}

#[test]
fn doctor_says_whether_the_sandbox_answers() {
    let project = Project::new();
    project.stack(
        "example",
        &crate::support::example_stack("[backend]\ntype = \"local\"", "message = \"hi\""),
    );
    let sandbox = Sandbox::start(project.path(), &[]);
    let healthy = project
        .run()
        .args(["--sandbox", &sandbox.url, "doctor"])
        .output()
        .expect_code(0);
    assert!(
        healthy
            .stdout()
            .contains("answers as `wildside-tofu sandbox`"),
        "{}",
        healthy.stdout()
    );
    let url = sandbox.url.clone();
    sandbox.stop();
    let unhealthy = project
        .run()
        .args(["--sandbox", &url, "doctor"])
        .output()
        .expect_code(1);
    assert!(
        unhealthy.stdout().contains("FAIL sandbox"),
        "{}",
        unhealthy.stdout()
    );
}
