//! Support for the adapter's end-to-end tests: the test plays powerstrip. It runs the real
//! `powerstrip-weave launch` binary, POSTs real pre-hook envelopes to it, sends the answered
//! bodies to the real dockerd (raw Engine API on its unix socket), then POSTs the post-hooks.
//!
//! Every test gets its own adapter (port, label scope, Linux bridge, volume container), so
//! tests run in parallel without touching each other, and everything is removed on drop.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::docker::{self, docker_ok, unique};
use crate::{kit, prereq};

/// The waiter path every rewritten container starts with.
pub const WAITER: &str = "/home/weavewait/wait-for-weave";
/// The Engine API version the tests speak (as the CLI would negotiate with dockerd 20.10).
pub const API: &str = "/v1.41";
/// Bound for one HTTP exchange with the adapter or the daemon.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(60);

/// Checks root, dockerd, the static `powerstrip-weave` and `wait-for-weave`, and the
/// weavewait archive; `false` (skip) outside CI when one is missing.
pub fn prerequisites() -> bool {
    prereq::require(
        prereq::is_root(),
        "root (veth, bridges, network namespaces)",
    ) && prereq::require(
        prereq::docker_answers(),
        "a running dockerd (`docker info`)",
    ) && prereq::require(
        prereq::static_bin("powerstrip-weave").is_file(),
        "target/x86_64-unknown-linux-musl/release/powerstrip-weave (`make static`)",
    ) && prereq::require(
        std::env::var_os("WEAVEWAIT_IMAGE").is_some() || kit::archive_path("weavewait").is_file(),
        "target/images/weavewait.tar (`make images`)",
    )
}

/// The busybox app image (built once per test process with the image kit).
pub fn app_image() -> String {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE
        .get_or_init(|| kit::build_and_load("tests/images/busybox.toml"))
        .clone()
}

/// The weavewait image (`make images` archive, loaded once per test process), or
/// `$WEAVEWAIT_IMAGE` when set.
pub fn weavewait_image() -> String {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE
        .get_or_init(|| {
            std::env::var("WEAVEWAIT_IMAGE").unwrap_or_else(|_| kit::load_archive("weavewait"))
        })
        .clone()
}

/// A `powerstrip-weave launch` process scoped to one test, plus what it created.
pub struct Adapter {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Label (key, value) scoping it; containers of the test carry it.
    pub label: (String, String),
    /// Its Linux bridge.
    pub bridge: String,
    /// Its volume container.
    pub volume: String,
    /// The extra arguments it was started with.
    pub args: Vec<String>,
    /// `DOCKER_HOST` of a private daemon it talks to; `None`: the test process's daemon.
    pub daemon: Option<String>,
    /// Environment added to its own (e.g. `POWERSTRIP_WEAVE_BOUNDS`).
    env: Vec<(String, String)>,
    /// Image of its volume container.
    weavewait: String,
    /// Image of [`Adapter::create_body`]; `None`: [`app_image`].
    app: Option<String>,
    child: Option<Child>,
    log: PathBuf,
    containers: Vec<String>,
}

fn free_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr")
}

impl Adapter {
    /// Starts `powerstrip-weave launch` with a test-unique label, bridge and volume
    /// container, plus `extra` arguments (e.g. `--attach command:/bin/false`).
    pub fn start(extra: &[&str]) -> Adapter {
        Adapter::spawn_new(None, weavewait_image(), None, extra, &[])
    }

    /// [`Adapter::start`] with `env` added to its environment (e.g.
    /// `POWERSTRIP_WEAVE_BOUNDS=body=1s` for small bounds).
    pub fn start_env(env: &[(&str, &str)], extra: &[&str]) -> Adapter {
        Adapter::spawn_new(None, weavewait_image(), None, extra, env)
    }

    /// Like [`Adapter::start`], against the daemon at `docker_host` (a private one, see
    /// `e2e::private`) whose images `weavewait` (volume container) and `app` (the image of
    /// [`Adapter::create_body`]) are loaded already.
    pub fn start_on(docker_host: &str, weavewait: &str, app: &str, extra: &[&str]) -> Adapter {
        Adapter::spawn_new(
            Some(docker_host.to_string()),
            weavewait.to_string(),
            Some(app.to_string()),
            extra,
            &[],
        )
    }

    fn spawn_new(
        daemon: Option<String>,
        weavewait: String,
        app: Option<String>,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Adapter {
        let id = unique("ad");
        // Interface names have at most 15 bytes.
        let n = id.rsplit('-').next().unwrap_or("0");
        let bridge = format!("pwb{}x{n}", std::process::id() % 100_000);
        let mut a = Adapter {
            addr: free_port(),
            label: ("pw.test".to_string(), id.clone()),
            bridge,
            volume: format!("{id}-weavewait"),
            args: extra.iter().map(|s| s.to_string()).collect(),
            daemon,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            weavewait,
            app,
            child: None,
            log: std::env::temp_dir().join(format!("{id}.log")),
            containers: Vec::new(),
        };
        a.spawn();
        a
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("adapter log file");
        let mut command = Command::new(prereq::static_bin("powerstrip-weave"));
        if let Some(host) = &self.daemon {
            command.env("DOCKER_HOST", host);
        }
        let child = command
            .args(["launch", "--listen", &self.addr.to_string()])
            .args(["--image", &self.weavewait])
            .args(["--volume-container", &self.volume])
            .args(["--bridge", &self.bridge])
            .args(["--label", &format!("{}={}", self.label.0, self.label.1)])
            .args(&self.args)
            .env("RUST_LOG", "debug")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("start powerstrip-weave launch");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(self.addr).is_err() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("adapter exited ({status}):\n{}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "adapter not listening after 20 s:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the adapter (SIGTERM, bounded wait, then SIGKILL).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again after [`Adapter::stop`], same settings (its log appended).
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// The adapter's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// True while the adapter process runs (it has not exited).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Where the daemon's answers come from: the private daemon, or the test's own.
    pub fn conn(&self) -> Conn {
        match &self.daemon {
            Some(host) => Conn::Unix(PathBuf::from(host.strip_prefix("unix://").unwrap_or(host))),
            None => Conn::Docker,
        }
    }

    /// `docker ARGS…` against the adapter's daemon, bounded (exit 124: the bound was hit).
    pub fn docker(&self, args: &[&str]) -> std::process::Output {
        match &self.daemon {
            Some(host) => {
                let mut all = vec!["-H", host.as_str()];
                all.extend_from_slice(args);
                docker::docker(&all)
            }
            None => docker::docker(args),
        }
    }

    /// Its log so far (stdout and stderr).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// POSTs one envelope and returns the answer (must be 200 JSON).
    pub fn hook(&self, envelope: &Value) -> Value {
        let (code, body) = http(
            Conn::Tcp(self.addr),
            "POST",
            "/powerstrip",
            Some(&envelope.to_string()),
        );
        assert_eq!(
            code,
            200,
            "adapter answered {code}: {body}\n{}",
            self.log_text()
        );
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("answer is not JSON ({e}): {body}"))
    }

    /// The pre-hook for a create: returns the body the adapter wants Docker to get.
    pub fn pre_create(&self, name: &str, body: &str) -> Option<String> {
        let answer = self.hook(&json!({
            "Type": "pre-hook", "PowerstripProtocolVersion": 1,
            "ClientRequest": {
                "Method": "POST",
                "Request": format!("{API}/containers/create?name={name}"),
                "Body": body,
            }
        }));
        answer["ModifiedClientRequest"]["Body"]
            .as_str()
            .map(str::to_string)
    }

    /// The whole powerstrip dance for `docker create`: pre-hook, create on dockerd with the
    /// answered body, post-hook. Returns Docker's status and body; registers the name for
    /// removal.
    pub fn create(&mut self, name: &str, body: &Value) -> (u16, String) {
        let original = format!("{body}\n");
        let sent = self
            .pre_create(name, &original)
            .expect("a create pre-hook answer has a string Body");
        self.containers.push(name.to_string());
        let path = format!("{API}/containers/create?name={name}");
        let (code, resp) = http(self.conn(), "POST", &path, Some(&sent));
        self.hook(&json!({
            "Type": "post-hook", "PowerstripProtocolVersion": 1,
            "ClientRequest": {"Method": "POST", "Request": path, "Body": original},
            "ServerResponse": {"Body": resp, "Code": code, "ContentType": "application/json"},
        }));
        (code, resp)
    }

    /// The powerstrip dance for `docker start NAME` (no body, as the modern CLI sends it).
    /// Returns Docker's status and the post-hook answer.
    pub fn start_container(&self, name: &str) -> (u16, Value) {
        let path = format!("{API}/containers/{name}/start");
        let client = json!({"Method": "POST", "Request": path, "Body": null});
        let pre = self.hook(&json!({
            "Type": "pre-hook", "PowerstripProtocolVersion": 1, "ClientRequest": client,
        }));
        assert_eq!(
            pre["ModifiedClientRequest"]["Body"],
            Value::Null,
            "start body must stay null"
        );
        let (code, resp) = http(self.conn(), "POST", &path, None);
        let content_type = if resp.is_empty() {
            Value::Null
        } else {
            json!("application/json")
        };
        let post = self.hook(&json!({
            "Type": "post-hook", "PowerstripProtocolVersion": 1, "ClientRequest": client,
            "ServerResponse": {"Body": resp, "Code": code, "ContentType": content_type},
        }));
        (code, post)
    }

    /// `docker create` + `docker start` through the adapter; panics unless both succeed.
    pub fn run(&mut self, name: &str, body: &Value) {
        let (code, resp) = self.create(name, body);
        assert_eq!(code, 201, "create {name}: {resp}");
        let (code, post) = self.start_container(name);
        assert_eq!(code, 204, "start {name}: {post}");
    }

    /// Registers a container for removal (one created without the adapter).
    pub fn track(&mut self, name: &str) {
        self.containers.push(name.to_string());
    }

    /// A create body like the Docker CLI sends (docs/design.md §6), labelled for this adapter.
    pub fn create_body(&self, env: &[&str], cmd: &[&str], network_mode: &str) -> Value {
        json!({
            "Hostname": "", "User": "", "AttachStdin": false, "AttachStdout": false,
            "AttachStderr": false, "Tty": false, "OpenStdin": false, "StdinOnce": false,
            "Env": env, "Cmd": cmd, "Image": self.app.clone().unwrap_or_else(app_image),
            "Volumes": {}, "WorkingDir": "",
            "Entrypoint": null, "OnBuild": null,
            "Labels": {self.label.0.clone(): self.label.1.clone()},
            "HostConfig": {
                "Binds": null, "NetworkMode": network_mode,
                "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
                "AutoRemove": false, "VolumesFrom": null, "ShmSize": 0,
                "MemorySwappiness": -1
            }
        })
    }
}

impl Drop for Adapter {
    fn drop(&mut self) {
        self.stop();
        for name in self.containers.iter().rev() {
            let _ = self.docker(&["rm", "-f", "-v", name]);
        }
        let _ = self.docker(&["rm", "-f", "-v", &self.volume]);
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .output();
        let _ = Command::new("iptables")
            .args([
                "-w",
                "5",
                "-D",
                "FORWARD",
                "-i",
                &self.bridge,
                "-o",
                &self.bridge,
                "-j",
                "ACCEPT",
            ])
            .output();
        if std::thread::panicking() {
            eprintln!("--- adapter log ---\n{}", self.log_text());
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Where an HTTP exchange goes.
pub enum Conn {
    /// The adapter on TCP.
    Tcp(SocketAddr),
    /// dockerd on `/var/run/docker.sock` (or `DOCKER_HOST=unix://…`).
    Docker,
    /// A daemon on this unix socket (a private one).
    Unix(PathBuf),
}

fn docker_socket() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(str::to_string))
        .unwrap_or_else(|| "/var/run/docker.sock".to_string())
}

/// One HTTP/1.1 exchange (`Connection: close`), JSON body when given. Returns the status
/// and the (de-chunked) body text. Bounded by [`HTTP_TIMEOUT`].
pub fn http(conn: Conn, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some(b) = body {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    } else {
        head.push_str("Content-Length: 0\r\n");
    }
    head.push_str("\r\n");
    let request = [head.as_bytes(), body.unwrap_or("").as_bytes()].concat();
    let raw = match conn {
        Conn::Tcp(addr) => {
            let mut s =
                TcpStream::connect_timeout(&addr, HTTP_TIMEOUT).expect("connect to the adapter");
            s.set_read_timeout(Some(HTTP_TIMEOUT)).unwrap();
            s.write_all(&request).unwrap();
            let mut out = Vec::new();
            s.read_to_end(&mut out)
                .expect("read the adapter's answer in time");
            out
        }
        Conn::Docker | Conn::Unix(_) => {
            let socket = match conn {
                Conn::Unix(path) => path,
                _ => PathBuf::from(docker_socket()),
            };
            let mut s = UnixStream::connect(&socket)
                .unwrap_or_else(|e| panic!("connect to dockerd at {}: {e}", socket.display()));
            s.set_read_timeout(Some(HTTP_TIMEOUT)).unwrap();
            s.write_all(&request).unwrap();
            let mut out = Vec::new();
            s.read_to_end(&mut out)
                .expect("read dockerd's answer in time");
            out
        }
    };
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {head}"));
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    if !chunked {
        return (code, body.to_string());
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    (code, out)
}

/// `docker inspect -f FORMAT NAME`.
pub fn inspect(name: &str, format: &str) -> String {
    docker_ok(&["inspect", "-f", format, name])
}

/// `docker logs NAME` (stdout and stderr together).
pub fn logs(name: &str) -> String {
    let out = docker::docker(&["logs", name]);
    crate::output_text(&out)
}

/// Polls `cond` every 50 ms until it holds or `secs` pass; panics with `what` on timeout.
pub fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
