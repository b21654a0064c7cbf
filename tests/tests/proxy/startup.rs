//! Start-up refuses what cannot work, with the fix in the message, and leaves nothing
//! behind: an attach program that is missing or cannot run, an image or a volume container
//! without the waiter. And a volume container removed while the proxy runs is explained
//! when Docker refuses a create for it.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use e2e::docker::{docker, docker_ok, unique, Cleanup};
use e2e::proxy::{binary, busybox_image, prerequisites, stderr, Proxy, TempDir};

/// `proxy` with `args` on a private socket and volume container `volume`, `PATH` set to
/// `path`; it must exit by itself (bounded).
fn proxy_start(volume: &str, args: &[&str], path: &str) -> Output {
    let dir = TempDir::new("pw-startup");
    let listen = format!("unix://{}", dir.join("p.sock").display());
    Command::new("timeout")
        .args(["-k", "5", "60"])
        .arg(binary())
        .args([
            "proxy",
            "--listen",
            &listen,
            "--no-events",
            "--volume-container",
            volume,
        ])
        .args(args)
        .env("PATH", path)
        .env_remove("DOCKER_HOST")
        .output()
        .expect("run powerstrip-weave proxy")
}

fn exists(container: &str) -> bool {
    docker(&["inspect", container]).status.success()
}

fn assert_refused(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    for n in needles {
        assert!(err.contains(n), "{n:?} missing from: {err}");
    }
}

#[test]
fn an_attach_program_that_cannot_run_is_refused_at_start_up() {
    if !prerequisites() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("attach-tool");
    std::fs::write(&plain, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
    let plain = plain.display().to_string();
    let dir_path = dir.path().display().to_string();
    let volume = unique("ww-never");
    // Removed should a refusal fail to come.
    let mut cleanup = Cleanup::default();
    cleanup.add(volume.clone());
    let path = "/usr/bin:/bin";
    let weave_on_path = Command::new("sh")
        .args(["-c", "command -v weave"])
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        !weave_on_path.status.success(),
        "this host has weave on {path}"
    );
    let cases: Vec<(String, Vec<String>)> = vec![
        (
            "weave".into(),
            vec![
                format!("--attach weave: no executable weave on PATH ({path})"),
                "Weave Net's `weave` script is needed".into(),
                "--attach bridge".into(),
            ],
        ),
        (
            "command:/nonexistent/attach".into(),
            vec!["/nonexistent/attach does not exist: give the path of the attach program".into()],
        ),
        (
            format!("command:{plain}"),
            vec![format!("{plain} is not executable: chmod +x {plain}")],
        ),
        (
            format!("command:{dir_path}"),
            vec![format!("{dir_path} is not a file")],
        ),
        (
            "command:attach-tool-nowhere".into(),
            vec![format!(
                "no executable attach-tool-nowhere on PATH ({path})"
            )],
        ),
    ];
    for (spec, needles) in &cases {
        let out = proxy_start(&volume, &["--attach", spec], path);
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        assert_refused(&out, &needles);
        // Refused before anything was made.
        assert!(!exists(&volume), "{spec}: the volume container was created");
    }
}

#[test]
fn an_image_without_the_waiter_is_refused_and_its_volume_container_removed() {
    if !prerequisites() {
        return;
    }
    let volume = unique("ww-nowaiter");
    let mut c = Cleanup::default();
    c.add(volume.clone());
    let image = busybox_image();
    let out = proxy_start(&volume, &["--image", image], "/usr/bin:/bin");
    assert_refused(
        &out,
        &[
            &format!("--image {image} does not carry the waiter"),
            "no volume holds /home/weavewait/wait-for-weave (its volumes: none)",
            "weavewait:latest",
            "removed",
        ],
    );
    assert!(
        !exists(&volume),
        "the volume container made from {image} was left behind"
    );
}

#[test]
fn a_volume_container_without_the_waiter_is_refused_and_kept() {
    if !prerequisites() {
        return;
    }
    let mut c = Cleanup::default();
    let image = busybox_image();
    // A volume at the waiter's directory, but no waiter in it.
    let empty = c.add(unique("ww-empty"));
    docker_ok(&[
        "create",
        "--name",
        &empty,
        "-v",
        "/home/weavewait",
        image,
        "true",
    ]);
    let out = proxy_start(&empty, &[], "/usr/bin:/bin");
    assert_refused(
        &out,
        &[
            &format!(
                "--volume-container {empty}: there is no /home/weavewait/wait-for-weave in it"
            ),
            &format!("docker rm {empty}"),
            &format!("docker create --name {empty} weavewait:latest"),
            "--waiter",
        ],
    );
    assert!(exists(&empty), "the user's volume container was removed");

    // A waiter that is not executable.
    let plain = c.add(unique("ww-plain"));
    docker_ok(&[
        "create",
        "--name",
        &plain,
        "-v",
        "/home/weavewait",
        image,
        "true",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wait-for-weave");
    std::fs::write(&file, "not a program").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let dest = format!("{plain}:/home/weavewait/wait-for-weave");
    docker_ok(&["cp", &file.display().to_string(), &dest]);
    let out = proxy_start(&plain, &[], "/usr/bin:/bin");
    assert_refused(
        &out,
        &["/home/weavewait/wait-for-weave in it is not executable"],
    );

    // The waiter outside any volume: --volumes-from would not carry it.
    let out = proxy_start(&empty, &["--waiter", "/bin/busybox"], "/usr/bin:/bin");
    assert_refused(
        &out,
        &["no volume holds /bin/busybox (its volumes: /home/weavewait)"],
    );
}

#[test]
fn a_volume_container_removed_while_the_proxy_runs_is_explained() {
    if !prerequisites() {
        return;
    }
    let p = Proxy::start(&["--attach", "command:/bin/true"]);
    let volume = p
        .volume_container()
        .expect("Proxy::start makes a private volume container")
        .to_string();
    docker_ok(&["rm", "-f", "-v", &volume]);
    let out = p.docker(&[
        "run",
        "--rm",
        "-e",
        "WEAVE_CIDR=10.80.0.1/24",
        busybox_image(),
        "true",
    ]);
    assert!(!out.status.success(), "{out:?}");
    let err = stderr(&out);
    for needle in [
        format!(
            "No such container: {volume}: {volume} is the volume container carrying the waiter"
        ),
        format!("`docker create --name {volume} weavewait:latest`"),
        "restart the proxy".to_string(),
    ] {
        assert!(err.contains(&needle), "{needle:?} missing from: {err}");
    }
}
