//! Test support: a scratch project, a builder that runs the real binary, and real servers on 127.0.0.1
//! (PostgreSQL, moto's S3 server) installed by `make tools`. Servers stop when dropped.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// What `make tools` recorded (`tools.env`) and what the tests' own tools add (`test-tools.env`, from
/// scripts/test-tools.sh, which `make test` runs); tests need the first, so its absence is a loud failure.
pub fn tools() -> BTreeMap<String, String> {
    let dir = std::env::var_os("WILDSIDE_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache"));
            cache.join("wildside-tofu")
        });
    let mut text =
        std::fs::read_to_string(dir.join("tools.env")).expect("run `make tools` before the tests");
    text.push_str(&std::fs::read_to_string(dir.join("test-tools.env")).unwrap_or_default());
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

pub fn tool(key: &str) -> PathBuf {
    PathBuf::from(tools().get(key).unwrap_or_else(|| {
        panic!("`{key}` missing from tools.env and test-tools.env: run `make test`")
    }))
}

/// The `wildside-sandbox` binary, built once per test run. It is its own package (the released binary carries
/// none of it), so Cargo does not build it for this package's tests: it is built here, beside this binary.
pub fn sandbox_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = Command::new(cargo)
                .args([
                    "build",
                    "--quiet",
                    "--package",
                    "wildside-sandbox",
                    "--bin",
                    "wildside-sandbox",
                ])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building wildside-sandbox failed");
            let profile_dir = std::env::current_exe()
                .unwrap()
                .parent()
                .and_then(Path::parent)
                .unwrap()
                .to_path_buf();
            profile_dir.join("wildside-sandbox")
        })
        .clone()
}

/// A scratch project: the repository's `modules/` and the stacks a test writes.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("stacks")).unwrap();
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("modules"),
            &dir.path().join("modules"),
        );
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn stack(&self, name: &str, text: &str) -> &Self {
        std::fs::write(
            self.path().join("stacks").join(format!("{name}.toml")),
            text,
        )
        .unwrap();
        self
    }

    /// A builder for one run of the binary in this project.
    pub fn run(&self) -> Run {
        let mut run = Run::new();
        run.command.arg("--project").arg(self.path());
        run
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if let Ok(link) = std::fs::read_link(entry.path()) {
            std::os::unix::fs::symlink(link, &target).unwrap();
        } else if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The state passphrase every run gets unless a test says otherwise (stacks without `[vault]` encrypt their
/// state with it).
pub const TEST_STATE_PASSPHRASE: &str = "test-state-passphrase-0123456789";

/// One run of the real `wildside-tofu` binary.
#[must_use]
pub struct Run {
    pub command: Command,
}

impl Run {
    pub fn new() -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_wildside-tofu"));
        command
            .env_remove("TF_WORKSPACE")
            .env_remove("RUST_LOG")
            .env("WILDSIDE_LOCK_TIMEOUT", "60s")
            .env("WILDSIDE_STATE_PASSPHRASE", TEST_STATE_PASSPHRASE);
        Self { command }
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(mut self, args: I) -> Self {
        self.command.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    pub fn output(mut self) -> Done {
        Done(self.command.stdin(Stdio::null()).output().unwrap())
    }

    pub fn spawn(mut self) -> Child {
        self.command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

/// A finished run, with assertions that print everything on failure.
pub struct Done(pub Output);

impl Done {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code(),
            code,
            "exit status\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        assert!(
            !self.stderr().contains("panicked"),
            "panic:\n{}",
            self.stderr()
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout().trim())
            .unwrap_or_else(|error| panic!("not JSON ({error}):\n{}", self.stdout()))
    }
}

/// A port that is free together with the next one (OpenBao's dev server takes `port + 1` for its cluster
/// listener), and that no other test of this process has been given. It is drawn below the kernel's
/// ephemeral range (32768 and up), so an outgoing connection never takes it while a server is restarted.
/// Waits up to a minute for `condition`, failing the test with `what` after that.
pub fn wait_for(condition: impl Fn() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap();
    let mut seed = u64::from(std::process::id())
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
    loop {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let port = 20000 + ((seed >> 33) % 12000) as u16;
        let taken = |candidate: u16| given.iter().any(|&other| other.abs_diff(candidate) <= 1);
        if !taken(port)
            && TcpListener::bind(("127.0.0.1", port)).is_ok()
            && TcpListener::bind(("127.0.0.1", port + 1)).is_ok()
        {
            given.push(port);
            return port;
        }
    }
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A real PostgreSQL server in a scratch directory, run as the `postgres` user when the tests run as root.
pub struct Postgres {
    dir: tempfile::TempDir,
    pub port: u16,
    bin: PathBuf,
}

impl Postgres {
    pub fn start() -> Self {
        let bin = tool("WILDSIDE_POSTGRES_BIN_DIR");
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let port = free_port();
        let as_root = nix_is_root();
        if as_root {
            Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            Command::new("chmod")
                .args(["755"])
                .arg(dir.path())
                .status()
                .unwrap();
        }
        let status = Self::command(&bin, "initdb", as_root)
            .args(["-A", "trust", "-U", "wildside", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "initdb failed");
        let options = format!("-h 127.0.0.1 -p {port} -k {}", dir.path().display());
        let status = Self::command(&bin, "pg_ctl", as_root)
            .args(["-D"])
            .arg(&data)
            .args(["-o", &options, "-l"])
            .arg(dir.path().join("log"))
            .args(["-w", "start"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "postgres did not start");
        wait_for_port(port, "postgres");
        Self { dir, port, bin }
    }

    fn command(bin: &Path, program: &str, as_root: bool) -> Command {
        if as_root {
            let mut command = Command::new("runuser");
            command
                .args(["-u", "postgres", "--"])
                .arg(bin.join(program));
            command
        } else {
            Command::new(bin.join(program))
        }
    }

    pub fn conn_str(&self) -> String {
        format!(
            "postgres://wildside@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = Self::command(&self.bin, "pg_ctl", nix_is_root())
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .status();
    }
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| out.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

/// moto's S3-compatible server, with one bucket created.
pub struct S3Server {
    child: Child,
    pub port: u16,
}

impl S3Server {
    pub fn start(bucket: &str) -> Self {
        let port = free_port();
        let child = Command::new(tool("WILDSIDE_MOTO_SERVER_BIN"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(port, "moto_server");
        let server = Self { child, port };
        server.create_bucket(bucket);
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// moto accepts unsigned requests, so a plain HTTP PUT creates the bucket.
    fn create_bucket(&self, bucket: &str) {
        use std::io::{Read, Write};
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(stream, "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", self.port).unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        assert!(
            reply.starts_with("HTTP/1.1 200") || reply.starts_with("HTTP/1.0 200"),
            "bucket not created: {reply}"
        );
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A stack using the example module with the given backend table and inputs.
pub fn example_stack(backend: &str, inputs: &str) -> String {
    format!(
        "{backend}\n\n[[modules]]\nname = \"greeting\"\nsource = \"example\"\ninputs = {{ {inputs} }}\n\n[[outputs]]\nname = \"message\"\nfrom = \"greeting.message\"\n\n[[outputs]]\nname = \"digest\"\nfrom = \"greeting.digest\"\nsensitive = true\n"
    )
}

impl Project {
    /// Adds the test-only modules of `tests/fixtures/modules/` to the project.
    pub fn with_fixtures(self) -> Self {
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/modules"),
            &self.path().join("modules"),
        );
        self
    }
}

/// A real OpenBao server on 127.0.0.1: dev mode (in memory, unsealed, KV v2 at `secret/`) or a real one with
/// raft storage in a scratch directory, which starts uninitialised.
pub struct OpenBao {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

pub const DEV_ROOT_TOKEN: &str = "root-token-for-tests";

impl OpenBao {
    pub fn dev() -> Self {
        Self::dev_on(free_port())
    }

    /// A dev server on `port`. A server that exits at once (its port briefly taken) is started again.
    pub fn dev_on(port: u16) -> Self {
        for attempt in 1.. {
            let dir = tempfile::tempdir().unwrap();
            let child = Command::new(tool("WILDSIDE_BAO_BIN"))
                .args([
                    "server",
                    "-dev",
                    &format!("-dev-root-token-id={DEV_ROOT_TOKEN}"),
                    &format!("-dev-listen-address=127.0.0.1:{port}"),
                ])
                .env_remove("BAO_ADDR")
                .env_remove("VAULT_ADDR")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.path().join("server.log")).unwrap())
                .spawn()
                .unwrap();
            let mut server = Self { child, port, dir };
            if server.wait_ready() || attempt == 5 {
                server.assert_running();
                server.enable_transit(DEV_ROOT_TOKEN);
                return server;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        unreachable!()
    }

    pub fn real() -> Self {
        Self::real_on(free_port())
    }

    /// A real server on `port`.
    pub fn real_on(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let cluster_port = free_port();
        std::fs::create_dir_all(dir.path().join("raft")).unwrap();
        let config = format!(
            "storage \"raft\" {{\n  path = \"{raft}\"\n  node_id = \"node1\"\n}}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  cluster_address = \"127.0.0.1:{cluster_port}\"\n  tls_disable = true\n}}\napi_addr = \"http://127.0.0.1:{port}\"\ncluster_addr = \"http://127.0.0.1:{cluster_port}\"\ndisable_mlock = true\n",
            raft = dir.path().join("raft").display()
        );
        std::fs::write(dir.path().join("config.hcl"), config).unwrap();
        let child = Self::spawn_real(dir.path());
        let mut server = Self { child, port, dir };
        server.wait_ready();
        server.assert_running();
        server
    }

    fn spawn_real(dir: &Path) -> Child {
        Command::new(tool("WILDSIDE_BAO_BIN"))
            .args(["server", "-config"])
            .arg(dir.join("config.hcl"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("server.log")).unwrap())
            .spawn()
            .unwrap()
    }

    /// Stops a real server and starts it again on its storage: it comes back sealed.
    pub fn restart(&mut self) {
        self.stop();
        self.child = Self::spawn_real(self.dir.path());
        self.wait_ready();
        self.assert_running();
    }

    /// Enables the transit engine at `transit/`, where stacks with `[vault]` keep their state keys.
    pub fn enable_transit(&self, token: &str) {
        let output = self.cli(token, &["secrets", "enable", "transit"]);
        assert!(
            output.status.success(),
            "enabling transit failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Waits until the server answers seal-status; `false` if it exited instead.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self
            .http_get("/v1/sys/seal-status")
            .starts_with("HTTP/1.1 200")
        {
            if self.child.try_wait().ok().flatten().is_some() {
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "openbao did not answer on port {}; its log:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        true
    }

    fn assert_running(&mut self) {
        assert!(
            self.child.try_wait().ok().flatten().is_none(),
            "openbao exited; its log:\n{}",
            self.log()
        );
    }

    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs the real `bao` CLI against this server with `token`.
    pub fn cli(&self, token: &str, args: &[&str]) -> Output {
        Command::new(tool("WILDSIDE_BAO_BIN"))
            .args(args)
            .env("BAO_ADDR", self.address())
            .env("BAO_TOKEN", token)
            .output()
            .unwrap()
    }

    /// `bao kv <subcommand> -format=json` (`get`, `metadata get`) of a path under `secret/`, or `None` if it
    /// does not exist.
    pub fn kv_json(&self, token: &str, subcommand: &str, path: &str) -> Option<serde_json::Value> {
        let mut args = vec!["kv"];
        args.extend(subcommand.split(' '));
        args.extend(["-format=json", "-mount=secret", path]);
        let output = self.cli(token, &args);
        output
            .status
            .success()
            .then(|| serde_json::from_slice(&output.stdout).unwrap())
    }

    fn http_get(&self, path: &str) -> String {
        use std::io::{Read, Write};
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return String::new();
        };
        let _ = write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        );
        let mut reply = String::new();
        let _ = stream.read_to_string(&mut reply);
        reply
    }

    pub fn stop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Run {
    pub fn env_remove_passphrase(mut self) -> Self {
        self.command.env_remove("WILDSIDE_STATE_PASSPHRASE");
        self
    }

    pub fn env_remove_vault_token(mut self) -> Self {
        self.command.env_remove("VAULT_TOKEN");
        self
    }
}

/// A test double of GitHub: a local HTTP server speaking the part of the REST API that sticky comments use
/// (the token's user, list, create and update issue comments). Its token's login is [`GitHubDouble::LOGIN`];
/// a comment without an entry in `authors` is that login's. It answers the first request with a 502 to exercise retries.
/// With `lose_create_reply` set, the next create stores the comment and then answers 502, as a gateway that
/// timed out after GitHub acted would.
pub struct GitHubDouble {
    pub port: u16,
    pub lose_create_reply: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub comments: std::sync::Arc<std::sync::Mutex<Vec<(u64, String)>>>,
    pub requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// What `GET /repos/o/r/pulls?state=open` answers.
    pub open_pulls: std::sync::Arc<std::sync::Mutex<Vec<u64>>>,
    /// Authors of comments by someone else than the token's user, by comment id.
    pub authors: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<u64, String>>>,
    /// `GET /user` answers 403, as it does for a GitHub App's installation token.
    pub integration_token: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl GitHubDouble {
    pub const LOGIN: &str = "wildside-ci";

    pub fn start() -> Self {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let comments = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(u64, String)>::new()));
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let open_pulls = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u64>::new()));
        let lose_create_reply = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let authors = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
        let integration_token = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (shared, log, pulls, lose, by, app) = (
            comments.clone(),
            requests.clone(),
            open_pulls.clone(),
            lose_create_reply.clone(),
            authors.clone(),
            integration_token.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).is_err()
                        || header == "\r\n"
                        || header.is_empty()
                    {
                        break;
                    }
                    if let Some(value) = header.to_lowercase().strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let body: serde_json::Value =
                    serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                let mut parts = request_line.split_whitespace();
                let (method, path) = (
                    parts.next().unwrap_or_default().to_string(),
                    parts.next().unwrap_or_default().to_string(),
                );
                let first = {
                    let mut log = log.lock().unwrap();
                    log.push(format!("{method} {path}"));
                    log.len() == 1
                };
                let (status, reply) = if first {
                    (
                        "502 Bad Gateway",
                        serde_json::json!({"message": "try again"}),
                    )
                } else if method == "GET" && path == "/user" {
                    if app.load(std::sync::atomic::Ordering::SeqCst) {
                        (
                            "403 Forbidden",
                            serde_json::json!({"message": "Resource not accessible by integration"}),
                        )
                    } else {
                        ("200 OK", serde_json::json!({ "login": Self::LOGIN }))
                    }
                } else if method == "GET" && path.starts_with("/repos/o/r/pulls?") {
                    let numbers: Vec<serde_json::Value> = pulls
                        .lock()
                        .unwrap()
                        .iter()
                        .map(|number| serde_json::json!({ "number": number }))
                        .collect();
                    ("200 OK", serde_json::Value::Array(numbers))
                } else if method == "POST" && lose.swap(false, std::sync::atomic::Ordering::SeqCst)
                {
                    let _ = Self::answer(&shared, &by, &method, &path, &body, port);
                    (
                        "502 Bad Gateway",
                        serde_json::json!({"message": "upstream timed out"}),
                    )
                } else {
                    Self::answer(&shared, &by, &method, &path, &body, port)
                };
                let reply = reply.to_string();
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nRetry-After: 0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                    reply.len()
                );
            }
        });
        Self {
            port,
            lose_create_reply,
            comments,
            requests,
            open_pulls,
            authors,
            integration_token,
        }
    }

    fn answer(
        comments: &std::sync::Mutex<Vec<(u64, String)>>,
        authors: &std::sync::Mutex<std::collections::HashMap<u64, String>>,
        method: &str,
        path: &str,
        body: &serde_json::Value,
        port: u16,
    ) -> (&'static str, serde_json::Value) {
        let mut comments = comments.lock().unwrap();
        let authors = authors.lock().unwrap();
        let render = |(id, body): &(u64, String)| {
            let login = authors.get(id).map_or(Self::LOGIN, String::as_str);
            serde_json::json!({"id": id, "body": body, "user": {"login": login}, "html_url": format!("http://127.0.0.1:{port}/comment/{id}")})
        };
        let path = path.split('?').next().unwrap_or_default();
        match (method, path) {
            ("GET", "/repos/o/r/issues/7/comments") => (
                "200 OK",
                serde_json::Value::Array(comments.iter().map(render).collect()),
            ),
            ("POST", "/repos/o/r/issues/7/comments") => {
                let comment = (
                    100 + comments.len() as u64,
                    body["body"].as_str().unwrap_or_default().to_string(),
                );
                comments.push(comment.clone());
                ("201 Created", render(&comment))
            }
            ("PATCH", path) if path.starts_with("/repos/o/r/issues/comments/") => {
                let id: u64 = path.rsplit('/').next().unwrap().parse().unwrap();
                let Some(comment) = comments.iter_mut().find(|(existing, _)| *existing == id)
                else {
                    return ("404 Not Found", serde_json::json!({"message": "Not Found"}));
                };
                comment.1 = body["body"].as_str().unwrap_or_default().to_string();
                ("200 OK", render(comment))
            }
            _ => ("404 Not Found", serde_json::json!({"message": "Not Found"})),
        }
    }

    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// `wildside-sandbox serve` on a free port with a state file; stopped with Ctrl-C when dropped.
pub struct Sandbox {
    child: Child,
    pub url: String,
    pub state: PathBuf,
}

impl Sandbox {
    /// A sandbox whose Kubernetes clusters are simulated (no API server), which is all most tests need.
    pub fn start(dir: &Path, args: &[&str]) -> Self {
        let mut args = args.to_vec();
        args.push("--simulated-clusters");
        Self::start_with_clusters(dir, &args)
    }

    /// A sandbox whose Kubernetes clusters are real API servers where `make tools` built them.
    pub fn start_with_clusters(dir: &Path, args: &[&str]) -> Self {
        let state = dir.join("sandbox.json");
        let mut child = Command::new(sandbox_binary())
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--delay",
                "100ms",
                "--state",
            ])
            .arg(&state)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                line.split_whitespace()
                    .skip_while(|word| *word != "on")
                    .nth(1)
                    .map(str::to_string)
            })
            .expect("the sandbox prints where it listens");
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, url, state }
    }

    /// Stops the sandbox with Ctrl-C and waits for it; it saves nothing more on the way out.
    pub fn stop(mut self) {
        self.interrupt();
    }

    fn interrupt(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        );
        let _ = self.child.wait();
    }

    /// Resources the sandbox holds, by kind, from its state file (default project and default VPCs aside).
    pub fn resources(&self) -> Vec<(String, usize)> {
        let state: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&self.state).unwrap()).unwrap();
        let mut counts = Vec::new();
        for kind in [
            "vpcs",
            "clusters",
            "droplets",
            "volumes",
            "firewalls",
            "load_balancers",
            "certificates",
            "projects",
            "ssh_keys",
            "snapshots",
            "domains",
            "subnets",
        ] {
            let count = state[kind]
                .as_object()
                .unwrap_or_else(|| panic!("the sandbox state has {kind}"))
                .values()
                .filter(|item| item["default"] != true && item["is_default"] != true)
                .count();
            if count > 0 {
                counts.push((kind.to_string(), count));
            }
        }
        counts
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.interrupt();
    }
}

/// The filesystem mirror that holds the DigitalOcean provider (`WILDSIDE_PROVIDER_MIRROR`, then the mirror
/// `make tools` keeps), if any does.
pub fn find_provider_mirror() -> Option<PathBuf> {
    std::env::var_os("WILDSIDE_PROVIDER_MIRROR")
        .map(PathBuf::from)
        .into_iter()
        .chain(tools().get("WILDSIDE_PROVIDER_MIRROR").map(PathBuf::from))
        .find(|mirror| {
            mirror
                .join("registry.opentofu.org/digitalocean/digitalocean")
                .is_dir()
        })
}
