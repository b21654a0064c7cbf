//! Logs written to a file or a pipe carry no ANSI colour codes (they end up in journals,
//! `docker logs` and files people `cat`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn logs_to_a_pipe_have_no_colour_codes() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_powerstrip-weave"))
        .args(["adapter", "--listen", "127.0.0.1:0", "--no-events"])
        .env("RUST_LOG", "info")
        .env("DOCKER_HOST", "tcp://127.0.0.1:1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start powerstrip-weave");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(30));
    let _ = child.kill();
    let _ = child.wait();
    let line = line.expect("a log line within 30 s");
    // The first line: the volume container cannot be checked on an unreachable daemon.
    assert!(line.contains(" WARN "), "{line:?}");
    assert!(!line.contains('\u{1b}'), "colour codes in {line:?}");
}
