//! What the namespace tests share: the waiter binary, a waiter started inside a namespace,
//! the app it execs, and the checks that it still waits.

use std::path::PathBuf;
use std::process::{Child, Output, Stdio};
use std::thread::sleep;
use std::time::Duration;

use e2e::netns::{comm, eventually, output_bounded, waiter_is_waiting, NetNs};
use e2e::prereq::{command_works, is_root, require, static_bin};

/// Long enough for the waiter to react wrongly if it were going to: it answers an event in
/// well under a millisecond.
pub const SETTLE: Duration = Duration::from_millis(60);
/// Bound on every wait for the waiter.
pub const LIMIT: Duration = Duration::from_secs(20);

/// The static waiter, when root, iproute2 and the binary are there.
pub fn prerequisites() -> Option<PathBuf> {
    let bin = static_bin("wait-for-weave");
    let ok = require(is_root(), "root (network namespaces and veth pairs)")
        && require(command_works("ip", &["-V"]), "iproute2 (`ip`)")
        && require(
            bin.exists(),
            "target/x86_64-unknown-linux-musl/release-waiter/wait-for-weave (run `make static`)",
        );
    ok.then_some(bin)
}

/// Starts the waiter inside `ns` with `args`, stdin closed, stdout and stderr piped.
pub fn spawn_in(ns: &NetNs, bin: &PathBuf, env: &[(&str, &str)], args: &[&str]) -> Child {
    let mut c = ns.command(bin);
    c.args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c.spawn().expect("spawn the waiter")
}

/// The waiter started in `ns` with `env` and [`APP`] as its command (reporting on `link`),
/// once it waits: its process and the marker counting the app's runs.
pub fn waiting_app(ns: &NetNs, bin: &PathBuf, env: &[(&str, &str)], link: &str) -> (Child, Marker) {
    let marker = Marker::new();
    let child = spawn_in(ns, bin, env, &["sh", "-c", APP, "app", marker.path(), link]);
    assert!(eventually(LIMIT, || waiter_is_waiting(child.id())));
    (child, marker)
}

/// The app the tests exec, as `sh -c APP app MARKER LINK`: proves it is the waiter's own
/// process (exec, not a child), counts its runs in MARKER, and shows what it saw of LINK
/// when it started: its flags, then its IPv4 addresses.
pub const APP: &str = r#"echo run >> "$1"; echo "pid=$$"; cat "/sys/class/net/$2/flags"; ip -o -4 addr show dev "$2" | awk '{print $4}'"#;

/// [`APP`] for a link known by its address, as `sh -c APP_BY_ADDR app MARKER ADDRESS`:
/// the same lines about the link that carries ADDRESS, then `link=<its name>`.
pub const APP_BY_ADDR: &str = r#"echo run >> "$1"; echo "pid=$$"; link=$(ip -o -4 addr show to "$2" | awk '{print $2}'); cat "/sys/class/net/$link/flags"; ip -o -4 addr show dev "$link" | awk '{print $4}'; echo "link=$link""#;

/// A file the app appends one line to per run; removed on drop.
pub struct Marker(tempfile::NamedTempFile);

impl Marker {
    /// A new, empty file under the temporary directory.
    pub fn new() -> Marker {
        let file = tempfile::Builder::new()
            .prefix("waiter-marker-")
            .tempfile()
            .expect("a marker file");
        Marker(file)
    }

    /// How many times the app ran.
    pub fn runs(&self) -> usize {
        std::fs::read_to_string(self.0.path())
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }

    /// The path, for the app's argv.
    pub fn path(&self) -> &str {
        self.0.path().to_str().unwrap()
    }
}

/// After a moment, the app has not run and the waiter is still there.
pub fn still_waiting(child: &Child, marker: &Marker, step: &str) {
    sleep(SETTLE);
    assert_eq!(marker.runs(), 0, "the command ran after `{step}`");
    assert_eq!(
        comm(child.id()).as_deref(),
        Some("wait-for-weave"),
        "the waiter is gone after `{step}`"
    );
}

/// The app's stdout, line by line.
pub fn stdout_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Waits for the waiter started with [`APP`] and checks that the app ran once, as the
/// waiter's own process, with LINK up: returns the app's stdout lines (the addresses of
/// LINK from the third on) and the waiter's stderr.
pub fn ran_once(child: Child, marker: &Marker, what: &str) -> (Vec<String>, String) {
    let pid = child.id();
    let out = output_bounded(child, LIMIT, what);
    assert!(out.status.success(), "{what}: {out:?}");
    assert_eq!(marker.runs(), 1, "{what}: exactly one run");
    let lines = stdout_lines(&out);
    assert_eq!(
        lines[0],
        format!("pid={pid}"),
        "exec'd in place, not as a child"
    );
    let flags = u32::from_str_radix(lines[1].trim_start_matches("0x"), 16).unwrap();
    assert_eq!(flags & 1, 1, "{what}: IFF_UP when the app started");
    (lines, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Stands in for Docker's own `eth0`, there before anything is attached: a veth end named
/// `eth0` inside `ns`, up, with 172.17.0.2/16 (its peer `veth0` stays in `ns`, down).
pub fn docker_eth0(ns: &NetNs) {
    ns.ip(&[
        "link", "add", "eth0", "type", "veth", "peer", "name", "veth0",
    ]);
    ns.ip(&["addr", "add", "172.17.0.2/16", "dev", "eth0"]);
    ns.ip(&["link", "set", "eth0", "up"]);
}

/// Runs the waiter in `ns` until its timeout and returns its one line on stderr, without
/// `wait-for-weave: `; checks status 124 and that the command did not run.
pub fn timeout_line(ns: &NetNs, bin: &PathBuf, env: &[(&str, &str)], args: &[&str]) -> String {
    let mut all = vec!["--timeout", "0.3"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["echo", "ran"]);
    let out = output_bounded(
        spawn_in(ns, bin, env, &all),
        LIMIT,
        "waiter until its timeout",
    );
    assert_eq!(out.status.code(), Some(124), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    stderr
        .trim_end()
        .strip_prefix("wait-for-weave: ")
        .unwrap_or_else(|| panic!("{stderr}"))
        .to_string()
}

/// A veth end arriving in a namespace one step at a time, like [`e2e::netns::Attach`] but
/// for any final name and with every step usable before the rename: created in this
/// namespace under temporary names, moved in, then renamed, addressed and set up in the
/// order a test chooses. The host end (deleted on drop, the pair with it) stays up.
pub struct Arrival {
    host: String,
    temp: String,
    ns: String,
    name: String,
    renamed: std::cell::Cell<bool>,
}

impl Arrival {
    /// `ip link add <host> type veth peer name <temp>` here; `name` is the final name.
    pub fn create(ns: &NetNs, name: &str) -> Arrival {
        let host = e2e::netns::short_unique("pwh");
        let temp = e2e::netns::short_unique("pwg");
        e2e::netns::run_ok(
            "ip",
            &["link", "add", &host, "type", "veth", "peer", "name", &temp],
        );
        e2e::netns::run_ok("ip", &["link", "set", &host, "up"]);
        Arrival {
            host,
            temp,
            ns: ns.name().to_string(),
            name: name.to_string(),
            renamed: std::cell::Cell::new(false),
        }
    }

    fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", self.ns.as_str()];
        all.extend_from_slice(args);
        e2e::netns::run_ok("ip", &all);
    }

    /// Its name now: temporary until [`Arrival::rename`].
    pub fn current(&self) -> &str {
        if self.renamed.get() {
            &self.name
        } else {
            &self.temp
        }
    }

    /// The temporary end moves into the namespace.
    pub fn move_in(&self) {
        e2e::netns::run_ok("ip", &["link", "set", &self.temp, "netns", &self.ns]);
    }

    /// Renamed to its final name inside the namespace.
    pub fn rename(&self) {
        self.ip(&["link", "set", &self.temp, "name", &self.name]);
        self.renamed.set(true);
    }

    /// `ip addr add <cidr>` on it, under whatever name it has now.
    pub fn add_addr(&self, cidr: &str) {
        self.ip(&["addr", "add", cidr, "dev", self.current()]);
    }

    /// Set up, under whatever name it has now.
    pub fn up(&self) {
        self.ip(&["link", "set", self.current(), "up"]);
    }
}

impl Drop for Arrival {
    fn drop(&mut self) {
        let _ = e2e::netns::run("ip", &["link", "del", &self.host]);
    }
}
