//! The weavewait-example program and image: it reports how long its process has been
//! waiting (since it started, exec kept) and the addresses of ethwe.

use std::process::Command;

use e2e::docker::docker;
use e2e::{kit, prereq};

fn example() -> std::path::PathBuf {
    prereq::static_bin("weavewait-example")
}

#[test]
fn reports_wait_time_since_process_start_and_ethwe_addresses() {
    if !prereq::require(prereq::is_root(), "root (network namespaces)")
        || !prereq::require(
            example().exists(),
            "static weavewait-example (run `make static`)",
        )
        || !prereq::require(
            prereq::command_works("unshare", &["--version"]),
            "unshare (Debian package util-linux)",
        )
    {
        return;
    }
    // In a new network namespace, as weave would leave it: ethwe up with two addresses.
    // The shell sleeps before exec'ing the example, as the waiter waits before exec.
    let script = "ip link add ethwe type veth peer name ethwe-peer && \
                  ip link set ethwe-peer up && \
                  ip addr add 10.255.0.51/24 dev ethwe && \
                  ip addr add fd00:ee::51/64 dev ethwe nodad && \
                  ip link set ethwe up && sleep 0.4 && exec \"$0\"";
    let out = Command::new("timeout")
        .args(["30", "unshare", "--net", "sh", "-c", script])
        .arg(example())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = stdout.lines();
    let waited = lines.next().unwrap_or_default();
    let secs: f64 = waited
        .strip_prefix("waited ")
        .and_then(|r| r.strip_suffix(" s for ethwe"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("first line: {waited:?}"));
    // The start time has clock-tick (10 ms) resolution.
    assert!(
        (0.38..30.0).contains(&secs),
        "waited {secs} s, slept 0.4 s before exec"
    );
    let rest: Vec<&str> = lines.collect();
    assert!(rest.contains(&"ethwe inet 10.255.0.51/24"), "{stdout}");
    assert!(rest.contains(&"ethwe inet6 fd00:ee::51/64"), "{stdout}");
}

#[test]
fn without_ethwe_says_so_and_fails() {
    if !prereq::require(
        example().exists(),
        "static weavewait-example (run `make static`)",
    ) {
        return;
    }
    let out = Command::new(example())
        .args(["--iface", "pw-no-such-if0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.ends_with("pw-no-such-if0: no addresses\n"),
        "{stdout}"
    );
    let usage = Command::new(example()).arg("--bogus").output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn example_image_runs_its_program_as_entrypoint() {
    let archive = kit::archive_path("weavewait-example");
    if !prereq::require(prereq::docker_answers(), "a Docker daemon (`docker info`)")
        || !prereq::require(
            archive.exists(),
            "target/images/weavewait-example.tar (run `make images`)",
        )
    {
        return;
    }
    let image = kit::load_archive("weavewait-example");
    // No network at all: the program runs from the image's Entrypoint and finds no ethwe.
    let out = docker(&["run", "--rm", "--network", "none", &image]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with("waited "), "{stdout}");
    assert!(stdout.ends_with("ethwe: no addresses\n"), "{stdout}");
    let out = docker(&["run", "--rm", "--network", "none", &image, "--iface", "lo"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("lo inet 127.0.0.1/8"), "{stdout}");
}

/// Deletes the host end of a veth pair when dropped (the peer goes with it).
struct Veth(String);

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).output();
    }
}

fn run_ok(program: &str, args: &[&str]) {
    let out = Command::new("timeout")
        .arg("30")
        .arg(program)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn example_behind_the_waiter_reports_the_wait_and_its_address() {
    if !prereq::require(prereq::is_root(), "root (veth into a container)")
        || !prereq::require(prereq::docker_answers(), "a Docker daemon (`docker info`)")
        || !prereq::require(
            kit::archive_path("weavewait").exists()
                && kit::archive_path("weavewait-example").exists(),
            "target/images/weavewait*.tar (run `make images`)",
        )
        || !prereq::require(
            prereq::command_works("nsenter", &["--version"]),
            "nsenter (Debian package util-linux)",
        )
    {
        return;
    }
    let mut cleanup = e2e::docker::Cleanup::default();
    let weavewait = kit::load_archive("weavewait");
    let example = kit::load_archive("weavewait-example");
    let holder = cleanup.add(e2e::docker::unique("ww"));
    e2e::docker::docker_ok(&["create", "--name", &holder, &weavewait]);
    let app = cleanup.add(e2e::docker::unique("example"));
    // What the adapter makes of `docker run -e WEAVE_CIDR=… weavewait-example`.
    e2e::docker::docker_ok(&[
        "run",
        "-d",
        "--name",
        &app,
        "--volumes-from",
        &format!("{holder}:ro"),
        "--entrypoint",
        "/home/weavewait/wait-for-weave",
        "-e",
        "WEAVE_CIDR=10.255.0.52/24",
        &example,
        "/weavewait-example",
    ]);
    let pid = e2e::docker::docker_ok(&["inspect", "--format", "{{.State.Pid}}", &app]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        e2e::docker::docker_ok(&["inspect", "--format", "{{.State.Running}}", &app]),
        "true",
        "the app must still be waiting for ethwe"
    );

    // Attach as weave does: veth created under a temporary name, moved in, renamed, up.
    let host = format!("pwex{}", std::process::id() % 100_000);
    let peer = format!("{host}p");
    run_ok(
        "ip",
        &["link", "add", &host, "type", "veth", "peer", "name", &peer],
    );
    let _veth = Veth(host.clone());
    run_ok("ip", &["link", "set", &peer, "netns", &pid]);
    let ns = ["-t", pid.as_str(), "-n", "ip"];
    let nsenter = |args: &[&str]| run_ok("nsenter", &[&ns[..], args].concat());
    nsenter(&["link", "set", &peer, "name", "ethwe"]);
    nsenter(&["addr", "add", "10.255.0.52/24", "dev", "ethwe"]);
    nsenter(&["link", "set", "ethwe", "up"]);
    run_ok("ip", &["link", "set", &host, "up"]);

    assert_eq!(e2e::docker::docker_ok(&["wait", &app]), "0");
    let logs = e2e::docker::docker_ok(&["logs", &app]);
    let first = logs.lines().next().unwrap_or_default();
    let secs: f64 = first
        .strip_prefix("waited ")
        .and_then(|r| r.strip_suffix(" s for ethwe"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("first line: {first:?}"));
    assert!(
        secs >= 0.45,
        "waited {secs} s, attached after 0.5 s: {logs}"
    );
    assert!(
        logs.lines().any(|l| l == "ethwe inet 10.255.0.52/24"),
        "{logs}"
    );
}
