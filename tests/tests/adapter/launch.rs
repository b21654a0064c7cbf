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

#[test]
fn an_image_without_the_waiter_is_refused_and_nothing_is_left() {
    if !prerequisites() {
        return;
    }
    let volume = unique("launch-nowaiter");
    let mut cleanup = Cleanup::default();
    cleanup.add(volume.clone());
    let image = e2e::adapter::app_image();
    let out = Command::new("timeout")
        .args(["60"])
        .arg(static_bin("powerstrip-weave"))
        .args(["launch", "--listen", "127.0.0.1:0", "--no-events"])
        .args(["--image", &image, "--volume-container", &volume])
        .stdin(Stdio::null())
        .output()
        .expect("run powerstrip-weave");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("--image {image} does not carry the waiter"))
            && stderr.contains("weavewait:latest"),
        "{stderr}"
    );
    assert!(
        !docker(&["inspect", &volume]).status.success(),
        "left behind"
    );
}

#[test]
fn the_adapter_without_its_volume_container_says_how_to_create_it() {
    if !prerequisites() {
        return;
    }
    let volume = unique("adapter-novol");
    let out = Command::new("timeout")
        .args(["60"])
        .arg(static_bin("powerstrip-weave"))
        .args(["adapter", "--listen", "127.0.0.1:0", "--no-events"])
        .args(["--volume-container", &volume])
        .stdin(Stdio::null())
        .output()
        .expect("run powerstrip-weave");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("--volume-container {volume}: no such container"))
            && stderr.contains("carries the waiter")
            && stderr.contains(&format!("docker create --name {volume} weavewait:latest")),
        "{stderr}"
    );
}
