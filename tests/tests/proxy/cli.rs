//! The vanilla docker CLI through `powerstrip-weave proxy`: every command of the matrix,
//! each bounded so a hang (powerstrip's failure mode) fails the test.

use std::io::Write;
use std::process::{Command, Stdio};

use e2e::docker::{unique, Cleanup};
use e2e::proxy::{busybox_image, docker_with, prerequisites, stderr, stdout, Proxy, TempDir};

#[test]
fn run_rm_prints_the_output() {
    if !prerequisites() {
        return;
    }
    let p = Proxy::start(&[]);
    let out = p.docker_ok(&["run", "--rm", busybox_image(), "echo", "hello", "proxy"]);
    assert_eq!(out, "hello proxy");
}

#[test]
fn run_detached_then_wait_gives_the_exit_code() {
    if !prerequisites() {
        return;
    }
    let p = Proxy::start(&[]);
    let mut c = Cleanup::default();
    let name = c.add(unique("proxy-d"));
    let id = p.docker_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        busybox_image(),
        "sh",
        "-c",
        "echo detached; exit 3",
    ]);
    assert_eq!(id.len(), 64, "expected a container id, got {id:?}");
    assert_eq!(p.docker_ok(&["wait", &name]), "3");
    assert_eq!(p.docker_ok(&["logs", &name]), "detached");
}

#[test]
fn run_interactive_passes_piped_stdin_and_its_end() {
    if !prerequisites() {
        return;
    }
    let p = Proxy::start(&[]);
    let out = p.docker_stdin(
        &[
            "run",
            "--rm",
            "-i",
            busybox_image(),
            "sh",
            "-c",
            "cat; echo eof-seen",
        ],
        b"one\ntwo\n",
    );
    p.check(&["run", "-i"], &out);
    assert_eq!(stdout(&out), "one\ntwo\neof-seen");
}

#[test]
fn run_tty_under_script() {
    if !prerequisites() {
        return;
    }
    let p = Proxy::start(&[]);
    let cmd = format!(
        "docker run --rm -t {} sh -c 'test -t 1 && echo is-a-tty; exit 4'",
        busybox_image()
    );
    let out = Command::new("timeout")
        .args(["-k", "5", "60", "script", "-qec", &cmd, "/dev/null"])
        .env("DOCKER_HOST", &p.host)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("cannot run script (util-linux)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("is-a-tty"),
        "output {text:?}; log {}",
        p.log_text()
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "exit code through the tty: {text:?}"
    );
}

#[test]
fn exec_and_exec_interactive() {
    if !prerequisites() {
        return;
    }
    let p = Proxy::start(&[]);
    let mut c = Cleanup::default();
    let name = c.add(unique("proxy-exec"));
    p.docker_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        busybox_image(),
        "sleep",
        "120",
    ]);
    assert_eq!(p.docker_ok(&["exec", &name, "echo", "exec-ok"]), "exec-ok");
    let out = p.docker(&["exec", &name, "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let out = p.docker_stdin(
        &["exec", "-i", &name, "sh", "-c", "wc -l; echo done"],
        b"a\nb\nc\n",
    );
    p.check(&["exec", "-i"], &out);
    assert_eq!(stdout(&out), "3\ndone");
}

#[test]
fn attach_with_stdin() {
    if !prerequisites() {
        return;
    }
    let p = Proxy::start(&[]);
    let mut c = Cleanup::default();
    let name = c.add(unique("proxy-attach"));
    // The container blocks on stdin, so attaching cannot miss its output.
    p.docker_ok(&[
        "run",
        "-d",
        "-i",
        "--name",
        &name,
        busybox_image(),
        "sh",
        "-c",
        "read x; echo got $x; exit 5",
    ]);
    // Stdin stays open until the CLI is done: the daemon closes an attach's output as soon
    // as its stdin ends (moby container/stream/attach.go), which would race the echo.
    let mut child = Command::new("timeout")
        .args(["-k", "5", "60", "docker", "attach", &name])
        .env("DOCKER_HOST", &p.host)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"ping\n").unwrap();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    assert_eq!(stdout(&out), "got ping", "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(5));
}

#[test]
fn logs_follow_streams_until_the_container_exits() {
    if !prerequisites() {
        return;
    }
    let p = Proxy::start(&[]);
    let mut c = Cleanup::default();
    let name = c.add(unique("proxy-logs"));
    p.docker_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        busybox_image(),
        "sh",
        "-c",
        "for i in 1 2 3; do echo tick $i; sleep 0.2; done",
    ]);
    assert_eq!(
        p.docker_ok(&["logs", "-f", &name]),
        "tick 1\ntick 2\ntick 3"
    );
}

#[test]
fn events_since_until() {
    if !prerequisites() {
        return;
    }
    let p = Proxy::start(&[]);
    let mut c = Cleanup::default();
    let name = c.add(unique("proxy-events"));
    let since = p.docker_ok(&["system", "info", "--format", "{{.SystemTime}}"]);
    p.docker_ok(&["run", "--name", &name, busybox_image(), "true"]);
    let until = p.docker_ok(&["system", "info", "--format", "{{.SystemTime}}"]);
    let out = p.docker_ok(&[
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--filter",
        &format!("container={name}"),
        "--format",
        "{{.Status}}",
    ]);
    let seen: Vec<&str> = out.lines().collect();
    for want in ["create", "attach", "start", "die"] {
        assert!(seen.contains(&want), "no {want} event in {seen:?}");
    }
}

#[test]
fn build_from_scratch_then_images_with_labels_over_64_kib() {
    if !prerequisites() {
        return;
    }
    let p = Proxy::start(&[]);
    busybox_image();
    let ctx = TempDir::new("proxy-build");
    std::fs::copy("/bin/busybox", ctx.join("busybox")).unwrap();
    // Two 40 000-byte labels: the image list answer is one chunk over 64 KiB.
    let big = "x".repeat(40_000);
    std::fs::write(
        ctx.join("Dockerfile"),
        format!(
            "FROM scratch\nCOPY busybox /bin/busybox\nLABEL big1={big}\nLABEL big2={big}\n\
             CMD [\"/bin/busybox\", \"echo\", \"built-through-proxy\"]\n"
        ),
    )
    .unwrap();
    let tag = format!("{}:latest", unique("proxy-built"));
    let out = docker_with(
        &[("DOCKER_HOST", &p.host), ("DOCKER_BUILDKIT", "0")],
        &["build", "-q", "-t", &tag, &ctx.0.to_string_lossy()],
        None,
    );
    p.check(&["build"], &out);
    let _rmi = RemoveImage(tag.clone());
    assert_eq!(p.docker_ok(&["run", "--rm", &tag]), "built-through-proxy");
    // The image list answer carries the labels: one body over 64 KiB.
    let filter = format!("reference={tag}");
    let list = [
        "images",
        "--no-trunc",
        "--filter",
        &filter,
        "--format",
        "{{.ID}} {{.Repository}}",
    ];
    let through = p.docker_ok(&list);
    assert!(through.contains(&tag.replace(":latest", "")), "{through}");
    let direct = e2e::docker::docker_ok(&list);
    assert_eq!(through, direct);
    assert!(!p.docker_ok(&["images"]).is_empty());
    let labels = p.docker_ok(&[
        "image",
        "inspect",
        "--format",
        "{{len .Config.Labels.big1}}",
        &tag,
    ]);
    assert_eq!(labels, "40000");
}

#[test]
fn cp_both_ways_and_export() {
    if !prerequisites() {
        return;
    }
    let p = Proxy::start(&[]);
    let mut c = Cleanup::default();
    let name = c.add(unique("proxy-cp"));
    p.docker_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        busybox_image(),
        "sleep",
        "120",
    ]);
    let dir = TempDir::new("proxy-cp");
    std::fs::write(dir.join("in.txt"), "copied in\n").unwrap();
    let src = dir.join("in.txt").to_string_lossy().to_string();
    p.docker_ok(&["cp", &src, &format!("{name}:/tmp/in.txt")]);
    assert_eq!(
        p.docker_ok(&["exec", &name, "cat", "/tmp/in.txt"]),
        "copied in"
    );
    let back = dir.join("back.txt").to_string_lossy().to_string();
    p.docker_ok(&["cp", &format!("{name}:/tmp/in.txt"), &back]);
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "copied in\n");

    let tar = dir.join("export.tar").to_string_lossy().to_string();
    p.docker_ok(&["export", "-o", &tar, &name]);
    let list = Command::new("tar").args(["-tf", &tar]).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.lines().any(|l| l == "bin/busybox"),
        "export lacks bin/busybox"
    );
    assert!(
        list.lines().any(|l| l == "tmp/in.txt"),
        "export lacks tmp/in.txt"
    );
}

struct RemoveImage(String);

impl Drop for RemoveImage {
    fn drop(&mut self) {
        let _ = e2e::docker::docker(&["rmi", "-f", &self.0]);
    }
}
