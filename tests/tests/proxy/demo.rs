//! `make demo`'s script, run as CI runs it: the loaded images, a volume container, the
//! proxy with the bridge backend, the example through `DOCKER_HOST=unix:///…`, clean-up.

use std::process::Command;

use e2e::docker::unique;
use e2e::kit;
use e2e::prereq::{self, workspace_root};
use e2e::proxy::{binary, prerequisites};

#[test]
fn demo_runs_the_example_through_the_proxy_and_cleans_up() {
    if !prerequisites() {
        return;
    }
    let archives = ["weavewait", "weavewait-example"];
    let present = archives.iter().all(|a| kit::archive_path(a).is_file());
    if !prereq::require(present, "target/images/weavewait*.tar (run `make images`)") {
        return;
    }
    for a in archives {
        kit::load_archive(a);
    }
    // A private volume container and bridge: other tests share the daemon and the host.
    let volume = unique("demo-ww");
    let bridge = format!("pwd{}", std::process::id() % 1_000_000);
    let out = Command::new("timeout")
        .args(["-k", "5", "300", "bash"])
        .arg(workspace_root().join("mk/demo.sh"))
        .arg(binary())
        .arg(kit::version())
        .env("DEMO_VOLUME", &volume)
        .env("DEMO_BRIDGE", &bridge)
        // The default waiter's file under another Entrypoint string: other adapters or proxies
        // following this daemon's events attach (and kill on failure) only the default.
        .env("DEMO_WAITER", "/home/weavewait/./wait-for-weave")
        .env_remove("DOCKER_HOST")
        .output()
        .expect("cannot run bash mk/demo.sh");
    let text = e2e::output_text(&out);
    assert!(
        out.status.success(),
        "demo failed ({}):\n{text}",
        out.status
    );
    assert!(text.contains("ethwe inet 10.255.0.51/24"), "{text}");
    assert!(text.contains("waited "), "{text}");
    assert!(text.contains("demo: OK"), "{text}");
    // Cleaned up: the volume container and the bridge it created are gone.
    let left = e2e::docker::docker(&["inspect", "--type", "container", &volume]);
    assert!(!left.status.success(), "the demo left {volume} behind");
    let link = Command::new("ip")
        .args(["link", "show", &bridge])
        .output()
        .unwrap();
    assert!(
        !link.status.success(),
        "the demo left bridge {bridge} behind"
    );
}
