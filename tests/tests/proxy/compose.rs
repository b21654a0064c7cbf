//! docker-compose through the proxy (Debian's `docker-compose`, v1, which speaks the
//! Engine API from Python): services on compose's own project network get `ethwe` and
//! reach each other over it, a service with `network_mode: service:x` is left alone and
//! shares x's, `docker-compose run` works, and `down` leaves nothing. The proxy is scoped
//! by label (`labels:` on the services), the project name is unique.

use std::path::Path;
use std::process::{Command, Output};

use e2e::docker::{docker_ok, unique, CALL_TIMEOUT_SECS};
use e2e::prereq;
use e2e::proxy::{busybox_image, stderr, stdout, Proxy, TempDir};

use crate::weave::Weave;

/// The services: each pings the other over `ethwe` until it answers (bounded), then says so.
const COMPOSE_FILE: &str = r#"version: "3.7"
services:
  a:
    image: IMAGE
    environment:
      WEAVE_CIDR: 10.255.23.11/24
      PEER: 10.255.23.12
    labels:
      pw.test: SCOPE
    command: ["sh", "-c", "PING"]
  b:
    image: IMAGE
    environment:
      WEAVE_CIDR: 10.255.23.12/24
      PEER: 10.255.23.11
    labels:
      pw.test: SCOPE
    command: ["sh", "-c", "PING"]
  c:
    image: IMAGE
    network_mode: "service:a"
    environment:
      WEAVE_CIDR: 10.255.23.19/24
    labels:
      pw.test: SCOPE
    command: ["sh", "-c", "ip -4 -o addr show ethwe"]
"#;

/// Tries for 30 s, then stays a while for service c to join a's namespace; `$$` is
/// compose's escape for the shell's `$`.
const PING: &str = "i=0; until ping -c 1 -W 1 -I ethwe $$PEER >/dev/null 2>&1; do \
                    i=$$((i+1)); [ $$i -lt 30 ] || exit 1; done; echo REACHED $$PEER; sleep 3";

/// True when Debian's docker-compose runs.
fn compose_present() -> bool {
    prereq::require(
        prereq::command_works("docker-compose", &["version"]),
        "docker-compose (Debian: apt-get install docker-compose)",
    )
}

/// One compose project: `docker-compose -p NAME -f FILE ...` through a proxy, every call
/// bounded; `down` (directly at the daemon) when dropped, also on failure.
struct Project<'a> {
    name: String,
    file: &'a Path,
    proxy: &'a Proxy,
}

impl Project<'_> {
    fn compose(&self, args: &[&str]) -> Output {
        Command::new("timeout")
            .args(["-k", "5", &CALL_TIMEOUT_SECS.to_string(), "docker-compose"])
            .args(["--ansi", "never", "-p", &self.name, "-f"])
            .arg(self.file)
            .args(args)
            .env("DOCKER_HOST", &self.proxy.host)
            .output()
            .expect("cannot run docker-compose")
    }

    fn compose_ok(&self, args: &[&str]) -> String {
        let out = self.compose(args);
        assert!(
            out.status.success(),
            "docker-compose {args:?} failed ({}):\nstdout: {}\nstderr: {}\nproxy log: {}",
            out.status,
            stdout(&out),
            stderr(&out),
            self.proxy.log_text()
        );
        stdout(&out)
    }
}

impl Drop for Project<'_> {
    fn drop(&mut self) {
        let _ = Command::new("timeout")
            .args(["-k", "5", &CALL_TIMEOUT_SECS.to_string(), "docker-compose"])
            .args(["--ansi", "never", "-p", &self.name, "-f"])
            .arg(self.file)
            .args(["down", "-v", "--remove-orphans"])
            .env("DOCKER_HOST", e2e::docker::host())
            .output();
    }
}

#[test]
fn compose_services_reach_each_other_over_ethwe_and_down_leaves_nothing() {
    let Some(w) = Weave::setup() else { return };
    if !compose_present() {
        return;
    }
    let scope = unique("compose");
    // With the FORWARD rule (br_netfilter may filter bridged traffic): pings must pass.
    let p = w.forwarding_proxy(&["--label", &format!("pw.test={scope}")]);
    let dir = TempDir::new("compose");
    let file = dir.join("docker-compose.yml");
    let text = COMPOSE_FILE
        .replace("IMAGE", busybox_image())
        .replace("SCOPE", &scope)
        .replace("PING", PING);
    std::fs::write(&file, text).unwrap();
    // Unique, and as compose v1 spells it (lower-case letters, digits, `-` and `_` kept).
    let project = Project {
        name: scope.clone(),
        file: &file,
        proxy: &p,
    };
    let name = &project.name;

    project.compose_ok(&["up", "-d"]);
    let (a, b) = (format!("{name}_a_1"), format!("{name}_b_1"));
    // Compose put them on its project network, and the proxy left that as it was.
    let mode = docker_ok(&["inspect", "--format", "{{.HostConfig.NetworkMode}}", &a]);
    assert_eq!(mode, format!("{name}_default"));
    let codes = p.docker_ok(&["wait", &a, &b]);
    let logs = |c: &str| p.docker_ok(&["logs", c]);
    assert_eq!(codes, "0\n0", "a: {}\nb: {}", logs(&a), logs(&b));
    assert_eq!(logs(&a), "REACHED 10.255.23.12");
    assert_eq!(logs(&b), "REACHED 10.255.23.11");
    // `network_mode: service:a` arrives as `container:<id of a>`: left alone (compose
    // prints no create warning; the proxy logs it), it sees a's ethwe.
    let c = format!("{name}_c_1");
    assert_eq!(p.docker_ok(&["wait", &c]), "0");
    let entry = docker_ok(&["inspect", "--format", "{{json .Config.Entrypoint}}", &c]);
    assert_eq!(entry, "null");
    assert!(logs(&c).contains("inet 10.255.23.11/24"), "c: {}", logs(&c));
    assert!(
        p.log_text()
            .contains("WEAVE_CIDR \"10.255.23.19/24\" ignored"),
        "{}",
        p.log_text()
    );

    // A one-off container of service a, with an address of its own.
    let out = project.compose_ok(&[
        "run",
        "--rm",
        "-T",
        "-e",
        "WEAVE_CIDR=10.255.23.13/24",
        "a",
        "sh",
        "-c",
        "ip -4 -o addr show ethwe",
    ]);
    assert!(out.contains("inet 10.255.23.13/24"), "run printed: {out}");

    project.compose_ok(&["down"]);
    let filter = format!("label=com.docker.compose.project={name}");
    assert_eq!(docker_ok(&["ps", "-a", "-q", "--filter", &filter]), "");
    let networks = docker_ok(&["network", "ls", "-q", "--filter", &format!("name={name}_")]);
    assert_eq!(networks, "", "down left networks");
    let ports = Command::new("ip")
        .args(["-o", "link", "show", "master", &w.bridge])
        .output()
        .unwrap();
    assert_eq!(stdout(&ports), "", "down left ports on the bridge");
}
