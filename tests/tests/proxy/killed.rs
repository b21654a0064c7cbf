//! The proxy killed with SIGKILL while containers wait for their network, then started
//! again: the new process's start-up catch-up attaches every waiting container, and none
//! is killed. Two ways of waiting: a container whose start the proxy was holding (its
//! attach under way) when it died, and one started behind its back while it was down.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e::docker::{docker_ok, unique, Cleanup};
use e2e::netns::{eventually, output_bounded};
use e2e::proxy::{busybox_image, listens, Proxy, TempDir};

use crate::weave::{Weave, WAITER};

/// The app: prints `RUN-<n>`, n being how many times its first instruction sees `cidr`
/// on `ethwe`, then sleeps.
fn app(cidr: &str) -> String {
    format!(
        "echo RUN-$(ip -4 -o addr show ethwe 2>/dev/null | grep -c 'inet {cidr} '); exec sleep 300"
    )
}

fn logs(name: &str) -> String {
    e2e::output_text(&e2e::docker::docker(&["logs", name]))
}

fn state(name: &str) -> String {
    docker_ok(&[
        "inspect",
        "-f",
        "{{.State.Pid}} {{.State.Running}} {{.RestartCount}}",
        name,
    ])
}

#[test]
fn a_proxy_killed_while_containers_wait_attaches_them_when_started_again() {
    let Some(w) = Weave::setup() else { return };
    let dir = TempDir::new("proxy-killed");
    let block = dir.join("block");
    let pids = dir.join("pids");
    let tool = dir.join("attach-tool");
    std::fs::write(&block, "").unwrap();
    // `command:` backend, `attach-tool attach <items…> <id>`: records its pid, holds while
    // the block file exists (120 s at most), then hands over to the native attach.
    std::fs::write(
        &tool,
        format!(
            "#!/bin/sh\necho $$ >>{pids}\ni=0\nwhile [ -e {block} ]; do\n  i=$((i+1))\n  \
             [ $i -gt 1200 ] && {{ echo 'still blocked after 120 s' >&2; exit 1; }}\n  sleep 0.1\n\
             done\nshift\nexec {bin} attach --bridge {bridge} --no-firewall \"$@\"\n",
            pids = pids.display(),
            block = block.display(),
            bin = e2e::proxy::binary().display(),
            bridge = w.bridge,
        ),
    )
    .unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let label = format!("pw.test={}", unique("killed"));
    let host = format!("unix://{}", dir.join("proxy.sock").display());
    let backend = format!("command:{}", tool.display());
    let mut p = Proxy::start_with(
        &host,
        &[
            "--listen",
            &host,
            "--attach",
            &backend,
            "--volume-container",
            &w.volume,
            "--label",
            &label,
            "--waiter",
            WAITER,
        ],
        listens,
    );
    let mut c = Cleanup::default();

    // A start the proxy holds while its attach is under way.
    let held = c.add(unique("held"));
    let held_app = app("10.255.0.93/24");
    let cli = Command::new("timeout")
        .args(["-k", "5", "120", "docker", "run", "-d", "--name", &held])
        .args(["--label", &label, "-e", "WEAVE_CIDR=10.255.0.93/24"])
        .args([busybox_image(), "sh", "-c", &held_app])
        .env("DOCKER_HOST", &p.host)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docker run");
    assert!(
        eventually(Duration::from_secs(60), || std::fs::read_to_string(&pids)
            .is_ok_and(|s| !s.trim().is_empty())),
        "the attach of {held} never began:\n{}",
        p.log_text()
    );
    // One created through the proxy (rewritten), to be started while it is down.
    let behind = c.add(unique("behind"));
    let behind_app = app("10.255.0.94/24");
    p.docker_ok(&[
        "create",
        "--name",
        &behind,
        "--label",
        &label,
        "-e",
        "WEAVE_CIDR=10.255.0.94/24",
        busybox_image(),
        "sh",
        "-c",
        &behind_app,
    ]);

    p.kill();
    // The client whose start was held gets an error, not a hang.
    let out = output_bounded(cli, Duration::from_secs(30), "docker run -d (held start)");
    assert!(
        !out.status.success(),
        "docker run succeeded although the proxy died during its attach: {out:?}"
    );
    // With the bridge backend the attach dies with the proxy; a command backend's process
    // outlives it: end it (by its pid, checking it is the tool) so that only the new
    // proxy attaches.
    for pid in std::fs::read_to_string(&pids).unwrap().split_whitespace() {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains("attach-tool") {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
    }
    docker_ok(&["start", &behind]);
    std::thread::sleep(Duration::from_millis(500));
    let mut before = Vec::new();
    for name in [&held, &behind] {
        let st = state(name);
        assert!(st.ends_with(" true 0"), "{name} is not waiting: {st}");
        assert_eq!(logs(name), "", "{name}'s app ran without its network");
        before.push(st);
    }

    std::fs::remove_file(&block).unwrap();
    p.respawn();
    for (name, st) in [&held, &behind].into_iter().zip(&before) {
        assert!(
            eventually(Duration::from_secs(30), || logs(name).contains("RUN-")),
            "{name} was not attached after the proxy came back:\n{}",
            p.log_text()
        );
        assert_eq!(logs(name).trim(), "RUN-1", "{name}");
        // Same process, never killed nor restarted.
        assert_eq!(&state(name), st, "{name}");
    }
    let log = p.log_text();
    assert!(
        !log.contains("so it never runs unnetworked"),
        "the proxy killed something:\n{log}"
    );
}
