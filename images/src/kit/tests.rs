use super::*;

use std::sync::mpsc;
use std::time::Duration;

/// Builds `spec` (written to `dir/t.toml`) into `dir/out`, on a thread: a build that hangs
/// fails the test after 20 s instead of hanging it.
fn build_bounded(dir: &Path, spec: &str) -> Result<Built, String> {
    std::fs::write(dir.join("t.toml"), spec).unwrap();
    let opts = Options {
        out_dir: dir.join("out"),
        target_dir: dir.join("target"),
        platforms: None,
        defaults: Defaults::default(),
        tags: None,
    };
    let path = dir.join("t.toml");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(build_spec_file(&path, &opts).map_err(|e| e.to_string()));
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the build finishes within 20 s")
}

fn out_is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir.join("out")).map_or(true, |mut rd| rd.next().is_none())
}

#[test]
fn host_files_that_are_not_regular_files_are_refused_without_reading_them() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::os::unix::fs::symlink("fifo", dir.path().join("to-fifo")).unwrap();
    for (host, what) in [
        ("fifo", "a named pipe (FIFO)"),
        ("to-fifo", "a named pipe (FIFO)"),
        ("/dev/zero", "a character device"),
        ("/dev/null", "a character device"),
        ("sub", "a directory"),
    ] {
        let spec = format!("name = \"a\"\n[[files]]\npath = \"/x\"\nhost = \"{host}\"\n");
        let e = build_bounded(dir.path(), &spec).expect_err(host);
        assert!(
            e.ends_with(&format!(
                "files[0] \"/x\": cannot read {}: it is {what}: name a regular file",
                if host.starts_with('/') {
                    host.to_string()
                } else {
                    dir.path().join(host).display().to_string()
                }
            )),
            "{host}: {e}"
        );
        assert!(out_is_empty(dir.path()), "{host}: no archive");
    }
}

#[test]
fn a_regular_host_file_through_a_symlink_is_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("real"), b"hello").unwrap();
    std::os::unix::fs::symlink("real", dir.path().join("link")).unwrap();
    let built = build_bounded(
        dir.path(),
        "name = \"a\"\n[[files]]\npath = \"/x\"\nhost = \"link\"\n",
    )
    .unwrap();
    assert_eq!(built.file_bytes, 5);
}

#[test]
fn a_platform_without_its_host_file_is_named_with_the_key_to_add() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app-amd64"), b"#!/bin/sh\n").unwrap();
    let spec = "name = \"a\"\nplatforms = [\"linux/amd64\", \"linux/arm64\"]\n[[files]]\npath = \"/app\"\nhost = { \"linux/amd64\" = \"app-amd64\" }\n";
    let e = build_bounded(dir.path(), spec).unwrap_err();
    assert!(
        e.ends_with(": files[0] \"/app\": host names no file for linux/arm64/v8: add \"linux/arm64\" = \"…\" to it"),
        "{e}"
    );
    assert!(out_is_empty(dir.path()));
}

#[test]
fn a_spec_that_is_not_utf8_names_the_line_and_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(&path, b"name = \"a\"\n[config]\nUser = \"caf\xe9\"\n").unwrap();
    let e = read_spec(&path).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}: line 3: byte 12 is not UTF-8: TOML files are UTF-8, save the file as UTF-8",
            path.display()
        )
    );
}

#[test]
fn a_missing_build_binary_says_how_to_build_it_for_its_platform() {
    let dir = tempfile::tempdir().unwrap();
    let spec = "name = \"a\"\nplatforms = [\"linux/arm64\"]\n[[files]]\npath = \"/app\"\nbuild = \"app\"\nprofile = \"small\"\n";
    let e = build_bounded(dir.path(), spec).unwrap_err();
    let want = format!(
        ": files[0] \"/app\": cannot read {}: No such file or directory (os error 2) (build it with `CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld cargo build --profile small --target aarch64-unknown-linux-musl`, or give --target-dir)",
        dir.path().join("target/aarch64-unknown-linux-musl/small/app").display()
    );
    assert!(e.ends_with(&want), "{e}");
}
