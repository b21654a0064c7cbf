//! `make demo-waiter`'s script talks to the daemon itself (`DEMO_DOCKER_HOST`), whatever
//! `DOCKER_HOST` says: a powerstrip-weave proxy there would attach the container before the
//! script does.

use std::process::Command;

use e2e::kit;
use e2e::prereq::{self, workspace_root};

#[test]
fn demo_ignores_docker_host_and_runs() {
    let root = workspace_root();
    let kit_bin = root.join("target/release/image-kit");
    let ready = prereq::require(prereq::is_root(), "root (veth, nsenter)")
        && prereq::require(prereq::docker_answers(), "a running dockerd")
        && prereq::require(
            kit::archive_path("weavewait").is_file() && kit_bin.is_file(),
            "target/images/weavewait.tar and target/release/image-kit (run `make images`)",
        );
    if !ready {
        return;
    }
    let out = Command::new("timeout")
        .args(["-k", "5", "300", "bash"])
        .arg(root.join("bench/waiter-demo.sh"))
        .arg(kit::archive_path("weavewait"))
        .current_dir(&root)
        .env("DEMO_DOCKER_HOST", e2e::docker::host())
        // Nothing listens on the discard port: a docker command sent there fails at once.
        .env("DOCKER_HOST", "tcp://127.0.0.1:9")
        // The default waiter's file under another Entrypoint string: adapters following the
        // daemon's events on a shared host attach only containers with the default one.
        .env("DEMO_WAITER", "/home/weavewait/./wait-for-weave")
        .output()
        .expect("cannot run bash bench/waiter-demo.sh");
    let text = e2e::output_text(&out);
    assert!(
        out.status.success(),
        "demo failed ({}):\n{text}",
        out.status
    );
    assert!(text.contains("container exited with status 0"), "{text}");
    assert!(text.contains("ethwe 10.255.0.51/24"), "{text}");
}
