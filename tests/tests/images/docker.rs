//! The image archives against the real dockerd: `docker load`, `docker create`,
//! `docker run` with the weavewait volume mounted read-only into a kit-built app image.

use e2e::docker::{docker, docker_ok, unique, Cleanup};
use e2e::{kit, prereq};

fn docker_and_busybox() -> bool {
    prereq::require(prereq::docker_answers(), "a Docker daemon (`docker info`)")
        && prereq::require(
            std::path::Path::new("/bin/busybox").exists(),
            "/bin/busybox (Debian package busybox-static)",
        )
}

fn ready() -> bool {
    docker_and_busybox()
        && prereq::require(
            kit::archive_path("weavewait").exists(),
            "target/images/weavewait.tar (run `make images`)",
        )
}

fn sha256_of(path: &std::path::Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum runs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn weavewait_loads_with_both_tags_and_its_config() {
    if !ready() {
        return;
    }
    let image = kit::load_archive("weavewait");
    let by_version = docker_ok(&["image", "inspect", "--format", "{{.Id}}", &image]);
    let by_latest = docker_ok(&[
        "image",
        "inspect",
        "--format",
        "{{.Id}}",
        "weavewait:latest",
    ]);
    assert_eq!(by_version, by_latest, "both tags name the same image");
    let config = docker_ok(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Entrypoint}} {{json .Config.Volumes}} {{.Os}}/{{.Architecture}}",
        &image,
    ]);
    assert_eq!(
        config,
        r#"["/home/weavewait/wait-for-weave"] {"/home/weavewait":{}} linux/amd64"#
    );
}

#[test]
fn weavewait_container_starts_and_quits_at_once() {
    if !ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let image = kit::load_archive("weavewait");
    let name = cleanup.add(unique("weavewait-run"));
    // The image's own command: the waiter with WAIT_FOR_WEAVE_QUIT=yes exits 0 at once.
    let out = docker(&["run", "--name", &name, "--network", "none", &image]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn weavewait_volume_serves_the_waiter_read_only_to_an_app_container() {
    if !ready() {
        return;
    }
    let mut cleanup = Cleanup::default();
    let image = kit::load_archive("weavewait");
    let app = kit::build_and_load("tests/images/busybox.toml");
    let volume_holder = cleanup.add(unique("weavewait"));
    docker_ok(&["create", "--name", &volume_holder, &image]);

    let run = cleanup.add(unique("app"));
    let out = docker(&[
        "run",
        "--name",
        &run,
        "--volumes-from",
        &format!("{volume_holder}:ro"),
        &app,
        "sh",
        "-c",
        "stat -c '%a %u:%g' /home/weavewait/wait-for-weave; \
         sha256sum /home/weavewait/wait-for-weave; \
         if touch /home/weavewait/x 2>/dev/null; then echo writable; else echo read-only; fi",
    ]);
    assert!(
        out.status.success(),
        "docker run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"755 0:0"), "mode and owner: {stdout}");
    let expected = sha256_of(&prereq::static_bin("wait-for-weave"));
    assert!(
        lines.get(1).is_some_and(|l| l.starts_with(&expected)),
        "the volume holds the waiter `make static` built (rerun `make images` if stale): {stdout}"
    );
    assert_eq!(lines.get(2), Some(&"read-only"), "{stdout}");
}

#[test]
fn busybox_test_image_runs_its_applets_as_nobody() {
    if !docker_and_busybox() {
        return;
    }
    let app = kit::build_and_load("tests/images/busybox.toml");
    let out = docker_ok(&[
        "run",
        "--rm",
        "--user",
        "65534:65534",
        &app,
        "sh",
        "-c",
        "echo hello; id -un; readlink /bin/sh; stat -c %a /tmp; ip -o link show lo | cut -d: -f2",
    ]);
    assert_eq!(out, "hello\nnobody\nbusybox\n1777\n lo");
}
