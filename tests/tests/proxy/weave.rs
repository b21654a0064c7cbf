//! The weave flow through the proxy with the vanilla docker CLI: the create rewritten in
//! process, the start answered only once ethwe is attached (native bridge backend), the
//! grammar's 400 for a bad WEAVE_CIDR, Docker's 404 for a missing image, and the events
//! follower attaching containers started behind the proxy's back.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use e2e::docker::{docker, docker_ok, unique, Cleanup};
use e2e::kit;
use e2e::prereq;
use e2e::proxy::{busybox_image, prerequisites, stderr, stdout, Proxy};

/// The waiter as these tests spell it: the same file as the default
/// `/home/weavewait/wait-for-weave`, but another Entrypoint string, so event followers of
/// other adapters or proxies on the same daemon (which attach, and kill on failure, every container whose
/// Entrypoint starts with the default) leave these tests' containers alone.
pub(crate) const WAITER: &str = "/home/weavewait/./wait-for-weave";

/// A private volume container and Linux bridge per test, removed on drop, so tests on a
/// shared daemon never touch `weavewait` or `weave`.
pub(crate) struct Weave {
    pub(crate) volume: String,
    pub(crate) bridge: String,
    example: String,
    _cleanup: Cleanup,
}

impl Weave {
    pub(crate) fn setup() -> Option<Weave> {
        if !prerequisites() {
            return None;
        }
        let archives = ["weavewait", "weavewait-example"];
        let present = archives.iter().all(|a| kit::archive_path(a).is_file());
        if !prereq::require(present, "target/images/weavewait*.tar (run `make images`)") {
            return None;
        }
        let waiter = kit::load_archive("weavewait");
        let example = kit::load_archive("weavewait-example");
        let mut cleanup = Cleanup::default();
        let volume = cleanup.add(unique("ww"));
        docker_ok(&["create", "--name", &volume, &waiter]);
        // Interface names have at most 15 bytes: "pwb" + 5 digits + "x" + counter.
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let bridge = format!("pwb{}x{n}", std::process::id() % 100_000);
        Some(Weave {
            volume,
            bridge,
            example,
            _cleanup: cleanup,
        })
    }

    fn proxy(&self, extra: &[&str]) -> Proxy {
        let mut args = vec![
            "--attach",
            "bridge",
            "--bridge",
            &self.bridge,
            "--no-firewall",
            "--volume-container",
            &self.volume,
            "--waiter",
            WAITER,
        ];
        args.extend_from_slice(extra);
        Proxy::start(&args)
    }
}

impl Drop for Weave {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .output();
    }
}

fn assert_attached(out: &str, cidr: &str) {
    assert!(out.contains("waited "), "no wait time in {out:?}");
    assert!(
        out.contains(&format!("ethwe inet {cidr}")),
        "no ethwe address {cidr} in {out:?}"
    );
}

#[test]
fn weave_example_prints_its_address_and_wait_time() {
    let Some(w) = Weave::setup() else { return };
    let p = w.proxy(&[]);
    let out = p.docker_ok(&["run", "--rm", "-e", "WEAVE_CIDR=10.255.0.51/24", &w.example]);
    assert_attached(&out, "10.255.0.51/24");

    // Detached, then wait and logs: the start answer is held until attach, not the run.
    let mut c = Cleanup::default();
    let name = c.add(unique("proxy-weave-d"));
    p.docker_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "-e",
        "WEAVE_CIDR=10.255.0.52/24",
        &w.example,
    ]);
    assert_eq!(p.docker_ok(&["wait", &name]), "0");
    assert_attached(&p.docker_ok(&["logs", &name]), "10.255.0.52/24");
    // The rewrite as Docker recorded it: waiter first, the image's entrypoint after it.
    let entry = p.docker_ok(&["inspect", "--format", "{{json .Config.Entrypoint}}", &name]);
    assert_eq!(entry, format!(r#"["{WAITER}","/weavewait-example"]"#));
    let from = p.docker_ok(&[
        "inspect",
        "--format",
        "{{json .HostConfig.VolumesFrom}}",
        &name,
    ]);
    assert_eq!(from, format!(r#"["{}:ro"]"#, w.volume));
}

#[test]
fn bad_weave_cidr_is_refused_with_the_grammar_message() {
    let Some(w) = Weave::setup() else { return };
    let p = w.proxy(&[]);
    let name = unique("proxy-badcidr");
    let out = p.docker(&[
        "run",
        "--rm",
        "--name",
        &name,
        "-e",
        "WEAVE_CIDR=10.255.0.300/24",
        busybox_image(),
        "true",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("invalid WEAVE_CIDR \"10.255.0.300/24\""),
        "stderr: {err}"
    );
    // Nothing was created.
    let listed = docker_ok(&["ps", "-a", "-q", "--filter", &format!("name=^{name}$")]);
    assert_eq!(listed, "");
}

#[test]
fn allocation_forms_are_refused_at_create_by_the_bridge_backend() {
    let Some(w) = Weave::setup() else { return };
    let p = w.proxy(&[]);
    for value in ["", "net:default", "net:10.9.0.0/16"] {
        let name = unique("proxy-alloc");
        let mut c = Cleanup::default();
        c.add(name.clone());
        let env = format!("WEAVE_CIDR={value}");
        let out = p.docker(&["run", "-d", "--name", &name, "-e", &env, &w.example]);
        assert!(!out.status.success(), "{env:?} was accepted");
        let err = stderr(&out);
        assert!(
            err.contains(&format!("WEAVE_CIDR {value:?}"))
                && err.contains("exact addresses a.b.c.d/n")
                && err.contains("--attach weave"),
            "{env:?}: stderr: {err}"
        );
        // Refused at create: no container, not even an Exited one.
        let listed = docker_ok(&["ps", "-a", "-q", "--filter", &format!("name=^{name}$")]);
        assert_eq!(listed, "", "{env:?} left a container behind");
    }
}

#[test]
fn a_missing_volume_container_is_created_at_start_up_from_the_image() {
    let Some(w) = Weave::setup() else { return };
    let waiter = kit::load_archive("weavewait");
    let mut c = Cleanup::default();
    let volume = c.add(unique("ww-made"));
    let p = Proxy::start(&[
        "--attach",
        "bridge",
        "--bridge",
        &w.bridge,
        "--no-firewall",
        "--volume-container",
        &volume,
        "--image",
        &waiter,
        "--waiter",
        WAITER,
    ]);
    let image = docker_ok(&["inspect", "--format", "{{.Config.Image}}", &volume]);
    assert_eq!(image, waiter);
    let out = p.docker_ok(&["run", "--rm", "-e", "WEAVE_CIDR=10.255.0.54/24", &w.example]);
    assert_attached(&out, "10.255.0.54/24");
}

#[test]
fn a_missing_volume_image_fails_the_start_up_with_the_fix() {
    let Some(_w) = Weave::setup() else { return };
    let dir = e2e::proxy::TempDir::new("proxy-noimage");
    let listen = format!("unix://{}", dir.join("p.sock").display());
    let volume = unique("ww-never");
    let image = format!("{}:nope", unique("pw-noimage"));
    let out = Command::new("timeout")
        .args(["-k", "5", "60"])
        .arg(e2e::proxy::binary())
        .args(["proxy", "--listen", &listen, "--no-events", "--no-firewall"])
        .args(["--volume-container", &volume, "--image", &image])
        .env_remove("DOCKER_HOST")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("image {image} is not present: run `make load`"))
            && err.contains(&format!("--volume-container {volume}")),
        "stderr: {err}"
    );
    let listed = docker_ok(&["ps", "-a", "-q", "--filter", &format!("name=^{volume}$")]);
    assert_eq!(listed, "");
}

#[test]
fn the_weave_hooks_reach_a_daemon_over_tcp() {
    let Some(w) = Weave::setup() else { return };
    // A TCP Docker endpoint on loopback without reconfiguring dockerd: a pass-through
    // proxy of our own on tcp://127.0.0.1 in front of the daemon's socket.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let tcp = format!("tcp://127.0.0.1:{port}");
    let _front = Proxy::start_with(
        &tcp,
        &[
            "--listen",
            &tcp,
            "--docker",
            "unix:///var/run/docker.sock",
            "--no-weave",
        ],
        move |_| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
    let p = w.proxy(&["--docker", &tcp]);
    let out = p.docker_ok(&["run", "--rm", "-e", "WEAVE_CIDR=10.255.0.55/24", &w.example]);
    assert_attached(&out, "10.255.0.55/24");
}

#[test]
fn missing_image_gets_dockers_404_so_the_cli_pulls() {
    let Some(w) = Weave::setup() else { return };
    let p = w.proxy(&[]);
    let image = format!("{}:nope", unique("proxy-missing"));
    let out = p.docker(&["create", "-e", "WEAVE_CIDR=10.255.0.53/24", &image, "true"]);
    assert!(!out.status.success(), "no such image, yet created");
    assert_ne!(out.status.code(), Some(124), "the CLI hung");
    // The CLI's reaction to a 404 from create: it tries to pull (no registry here).
    let err = stderr(&out);
    assert!(
        err.contains(&format!("Unable to find image '{image}' locally")),
        "stderr: {err}"
    );
}

#[test]
fn containers_started_behind_the_proxy_are_attached_from_events() {
    let Some(w) = Weave::setup() else { return };
    let scope = unique("scope");
    let label = format!("pw.test={scope}");
    // Events on (not the tests' default), scoped to this test's containers by label.
    let dir = e2e::proxy::TempDir::new("proxy-events");
    let sock = dir.join("p.sock");
    let host = format!("unix://{}", sock.display());
    let p = Proxy::start_with(
        &host,
        &[
            "--listen",
            &host,
            "--attach",
            "bridge",
            "--bridge",
            &w.bridge,
            "--no-firewall",
            "--volume-container",
            &w.volume,
            "--label",
            &label,
            "--waiter",
            WAITER,
        ],
        move |_| std::os::unix::net::UnixStream::connect(&sock).is_ok(),
    );
    let mut c = Cleanup::default();
    let name = c.add(unique("proxy-ev"));
    // Created through the proxy (rewritten), started directly at the daemon.
    p.docker_ok(&[
        "create",
        "--name",
        &name,
        "--label",
        &label,
        "-e",
        "WEAVE_CIDR=10.255.0.54/24",
        &w.example,
    ]);
    docker_ok(&["start", &name]);
    let out = docker(&["wait", &name]);
    assert_eq!(stdout(&out), "0", "{}", p.log_text());
    assert_attached(&docker_ok(&["logs", &name]), "10.255.0.54/24");
}

#[test]
fn failed_attach_is_a_500_and_the_container_never_runs_its_app() {
    let Some(w) = Weave::setup() else { return };
    // A backend that always fails: `/bin/false attach <cidrs> <id>` exits 1.
    let p = Proxy::start(&[
        "--attach",
        "command:/bin/false",
        "--volume-container",
        &w.volume,
        "--waiter",
        WAITER,
    ]);
    let mut c = Cleanup::default();
    let name = c.add(unique("proxy-failattach"));
    let out = p.docker(&[
        "run",
        "--name",
        &name,
        "-e",
        "WEAVE_CIDR=10.255.0.55/24",
        &w.example,
    ]);
    assert!(!out.status.success(), "the run succeeded without a network");
    assert_ne!(out.status.code(), Some(124), "the CLI hung");
    let err = stderr(&out);
    assert!(
        err.contains("was not given its network")
            && err.contains(&name)
            && err.contains("/bin/false attach ip:10.255.0.55/24"),
        "stderr: {err}"
    );
    assert!(
        !stdout(&out).contains("ethwe"),
        "the app ran: {}",
        stdout(&out)
    );
    let state = docker_ok(&[
        "inspect",
        "--format",
        "{{.State.Running}} {{.State.ExitCode}}",
        &name,
    ]);
    assert_eq!(state, "false 137", "the container was not killed");
    assert_eq!(docker_ok(&["logs", &name]), "", "the app printed something");
}
