//! `powerstrip-weave attach CIDR... CONTAINER`: the native attach on its own, idempotent,
//! with clear refusals.

use std::process::{Command, Output, Stdio};

use e2e::adapter::{app_image, prerequisites};
use e2e::docker::{docker, docker_ok, unique, Cleanup};
use e2e::prereq::static_bin;

struct Bridge(String);
impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).output();
        let _ = Command::new("iptables")
            .args([
                "-w", "5", "-D", "FORWARD", "-i", &self.0, "-o", &self.0, "-j", "ACCEPT",
            ])
            .output();
    }
}

fn attach(bridge: &str, words: &[&str]) -> Output {
    Command::new("timeout")
        .arg("60")
        .arg(static_bin("powerstrip-weave"))
        .args(["attach", "--bridge", bridge])
        .args(words)
        .stdin(Stdio::null())
        .output()
        .expect("run powerstrip-weave attach")
}

#[test]
fn attach_alone_is_idempotent_and_refuses_clearly() {
    if !prerequisites() {
        return;
    }
    let bridge = Bridge(format!("pwc{}", std::process::id() % 1_000_000));
    let mut cleanup = Cleanup::default();
    let name = cleanup.add(unique("attach.cli"));
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--net=none",
        &app_image(),
        "sleep",
        "300",
    ]);

    for _ in 0..2 {
        let out = attach(&bridge.0, &["10.255.5.11/24", "ip:10.255.5.12/24", &name]);
        assert!(out.status.success(), "{out:?}");
    }
    let addrs = docker_ok(&["exec", &name, "ip", "-4", "-o", "addr", "show", "ethwe"]);
    assert_eq!(addrs.matches("inet 10.255.5.11/24").count(), 1, "{addrs}");
    assert_eq!(addrs.matches("inet 10.255.5.12/24").count(), 1, "{addrs}");
    let link = docker_ok(&["exec", &name, "ip", "-o", "link", "show", "ethwe"]);
    assert!(link.contains(",UP"), "{link}");

    for (words, needle) in [
        (
            vec!["10.255.5.13", name.as_str()],
            "invalid WEAVE_CIDR \"10.255.5.13\"",
        ),
        (
            vec!["net:10.255.0.0/16", name.as_str()],
            "which attach does not do: give exact addresses a.b.c.d/n",
        ),
        (
            vec!["10.255.5.13/24", "pw-no-such-container-x"],
            "no such container",
        ),
        (vec![name.as_str()], "give at least one address"),
    ] {
        let out = attach(&bridge.0, &words);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{words:?}: {stderr}");
        assert!(stderr.contains(needle), "{words:?}: {stderr}");
    }
    // The fix offered is one attach has: not a flag of the proxy.
    let out = attach(&bridge.0, &["net:default", &name]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("--attach"), "{stderr}");
    // Another bridge than the one ethwe is on: refused, naming both, rather than "attached".
    let other = Bridge(format!("pwd{}", std::process::id() % 1_000_000));
    let out = attach(&other.0, &["10.255.5.14/24", &name]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "already attached to bridge {}, not {}",
            bridge.0, other.0
        )),
        "{stderr}"
    );
    let made = Command::new("ip")
        .args(["link", "show", &other.0])
        .output()
        .expect("run ip");
    assert!(!made.status.success(), "bridge {} was created", other.0);
    // The refusals changed nothing.
    let again = docker_ok(&["exec", &name, "ip", "-4", "-o", "addr", "show", "ethwe"]);
    assert_eq!(again.lines().count(), 2, "{again}");
    let _ = docker(&["rm", "-f", &name]);
}
