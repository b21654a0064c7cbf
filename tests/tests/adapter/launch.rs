//! `powerstrip-weave launch`: the volume container is created when missing (also after it
//! was removed), and an absent weavewait image is a clear error naming `make load`.

use std::process::{Command, Stdio};

use e2e::adapter::{prerequisites, weavewait_image, Adapter};
use e2e::docker::{docker, unique, Cleanup};
use e2e::prereq::static_bin;

#[test]
fn volume_container_is_recreated_when_missing() {
    if !prerequisites() {
        return;
    }
    let mut adapter = Adapter::start(&[]);
    let image = |name: &str| {
        let out = docker(&["inspect", "-f", "{{.Config.Image}}", name]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(image(&adapter.volume), weavewait_image());
    docker(&["rm", "-f", "-v", &adapter.volume]);
    assert_eq!(image(&adapter.volume), "");
    adapter.restart();
    assert_eq!(image(&adapter.volume), weavewait_image());
}

#[test]
fn absent_weavewait_image_says_run_make_load() {
    if !prerequisites() {
        return;
    }
    let volume = unique("launch-vol");
    let mut cleanup = Cleanup::default();
    cleanup.add(volume.clone());
    let out = Command::new("timeout")
        .args(["30"])
        .arg(static_bin("powerstrip-weave"))
        .args(["launch", "--listen", "127.0.0.1:0", "--no-events"])
        .args(["--image", &format!("{}-absent:latest", unique("img"))])
        .args(["--volume-container", &volume])
        .stdin(Stdio::null())
        .output()
        .expect("run powerstrip-weave");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is not present: run `make load`"),
        "{stderr}"
    );
    // Nothing was created.
    assert!(!docker(&["inspect", &volume]).status.success());
}
