//! `wait-for-weave`'s command line and exit codes, driven from outside: usage 2, timeout
//! 124, not executable 126, not found 127, argv passed on verbatim. `lo` (up, 127.0.0.1)
//! stands in for a ready interface, so these need no root.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use e2e::netns::{clean_spawn, output_bounded};
use e2e::prereq::{require, static_bin};

fn waiter() -> Option<PathBuf> {
    let bin = static_bin("wait-for-weave");
    require(bin.exists(), "wait-for-weave (run `make static`)").then_some(bin)
}

fn run(bin: &PathBuf, env: &[(&str, &str)], args: &[OsString]) -> Output {
    let mut c = Command::new(bin);
    c.args(args)
        .env_remove("WEAVE_CIDR")
        .env_remove("WAIT_FOR_SECONDS")
        .env_remove("WAIT_FOR_WEAVE_IFACE")
        .env_remove("WAIT_FOR_WEAVE_DEFAULT_SUBNET")
        .env_remove("WAIT_FOR_WEAVE_SKIP")
        .env_remove("WAIT_FOR_WEAVE_QUIT")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    clean_spawn(&mut c);
    output_bounded(
        c.spawn().unwrap(),
        Duration::from_secs(20),
        "wait-for-weave",
    )
}

fn os(words: &[&str]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exactly one line on stderr, with this text.
fn one_line(out: &Output, expected: &str) {
    assert_eq!(
        stderr(out),
        format!("wait-for-weave: {expected}\n"),
        "{out:?}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let Some(bin) = waiter() else { return };
    for (env, args, needle) in [
        (
            &[][..],
            &["--bogus", "true"][..],
            "Unrecognized argument: --bogus",
        ),
        (&[], &[], "missing COMMAND"),
        (
            &[],
            &["--timeout", "soon", "true"],
            "invalid --timeout \"soon\"",
        ),
        (
            &[("WAIT_FOR_SECONDS", "x")],
            &["true"],
            "invalid WAIT_FOR_SECONDS \"x\"",
        ),
        (
            &[],
            &["--iface", "a/b", "true"],
            "invalid --iface \"a/b\": give an interface name",
        ),
        (
            &[],
            &["--timeout"],
            "No value provided for option '--timeout'; \
             usage: wait-for-weave [OPTIONS] [--] COMMAND [ARG...]",
        ),
        (
            &[],
            &["--addr", "10.0.0.1", "true"],
            "missing /prefix; expected a.b.c.d/n or ip:a.b.c.d/n (or an IPv6 address/n)",
        ),
        (
            &[("WEAVE_CIDR", "127.0.0.5/8")],
            &["true"],
            "is in 127.0.0.0/8 (loopback)",
        ),
        (
            &[],
            &["--addr", "fe80::1/64", "true"],
            "invalid --addr \"fe80::1/64\": fe80::/10 is link-local, which never counts",
        ),
        (
            &[("WEAVE_CIDR", "")],
            &["--iface", "any", "true"],
            "--iface any with WEAVE_CIDR \"\" waits for any IPv4 address, and an interface \
             that was already there (such as Docker's eth0) would do at once; set \
             WAIT_FOR_WEAVE_DEFAULT_SUBNET",
        ),
        (
            &[
                ("WAIT_FOR_WEAVE_IFACE", "any"),
                ("WEAVE_CIDR", "net:default"),
            ],
            &["true"],
            "WAIT_FOR_WEAVE_IFACE=any with WEAVE_CIDR \"net:default\" waits",
        ),
        (
            &[("WAIT_FOR_WEAVE_DEFAULT_SUBNET", "10.0.0.1/8")],
            &["true"],
            "invalid WAIT_FOR_WEAVE_DEFAULT_SUBNET \"10.0.0.1/8\": host bits are set",
        ),
    ] {
        let out = run(&bin, env, &os(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let err = stderr(&out);
        assert!(
            err.starts_with("wait-for-weave: ") && err.contains(needle),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
}

#[test]
fn invalid_weave_cidr_exits_2_with_the_grammar_message() {
    let Some(bin) = waiter() else { return };
    let out = run(
        &bin,
        &[("WEAVE_CIDR", "10.77.0.86/24,10.77.0.87/24")],
        &os(&["true"]),
    );
    assert_eq!(out.status.code(), Some(2));
    one_line(
        &out,
        "invalid WEAVE_CIDR \"10.77.0.86/24,10.77.0.87/24\": separate items with spaces, \
         not commas: \"10.77.0.86/24 10.77.0.87/24\"",
    );
    let out = run(
        &bin,
        &[("WEAVE_CIDR", "10.2.1.1/24 net:10.3.0.1/16")],
        &os(&["true"]),
    );
    one_line(
        &out,
        "invalid WEAVE_CIDR \"10.2.1.1/24 net:10.3.0.1/16\": item \"net:10.3.0.1/16\": \
         host bits are set; did you mean net:10.3.0.0/16?",
    );
}

#[test]
fn huge_weave_cidr_is_quoted_once_and_cut() {
    let Some(bin) = waiter() else { return };
    for junk in [
        "x".repeat(100 * 1024),
        format!("{}/24", "1.".repeat(50 * 1024)),
    ] {
        let out = run(&bin, &[("WEAVE_CIDR", &junk)], &os(&["true"]));
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert!(err.len() < 600, "{} bytes", err.len());
        assert!(
            err.starts_with("wait-for-weave: invalid WEAVE_CIDR \"")
                && err.contains(&format!("\"... ({} bytes): ", junk.len())),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
}

#[test]
fn timeout_exits_124_naming_the_interface() {
    let Some(bin) = waiter() else { return };
    let out = run(
        &bin,
        &[],
        &os(&["--iface", "pwnosuchif0", "--timeout", "0.3", "echo", "ran"]),
    );
    assert_eq!(out.status.code(), Some(124));
    one_line(
        &out,
        "pwnosuchif0 not ready after 0.3 s: no link named pwnosuchif0",
    );
    assert!(out.stdout.is_empty());

    let out = run(
        &bin,
        &[
            ("WAIT_FOR_SECONDS", "1"),
            ("WAIT_FOR_WEAVE_IFACE", "pwnosuchif1"),
        ],
        &os(&["echo", "ran"]),
    );
    assert_eq!(out.status.code(), Some(124));
    one_line(
        &out,
        "pwnosuchif1 not ready after 1 s: no link named pwnosuchif1",
    );
}

#[test]
fn not_executable_exits_126() {
    let Some(bin) = waiter() else { return };
    let dir = std::env::temp_dir().join(e2e::docker::unique("waiter-126"));
    std::fs::create_dir_all(&dir).unwrap();
    let plain = dir.join("plain");
    std::fs::write(&plain, "#!/bin/sh\necho ran\n").unwrap();
    let out = run(
        &bin,
        &[],
        &[OsString::from("--iface"), "lo".into(), plain.clone().into()],
    );
    assert_eq!(out.status.code(), Some(126), "mode 644: {out:?}");
    one_line(
        &out,
        &format!("exec {:?}: permission denied", plain.to_str().unwrap()),
    );
    // Found in PATH but not executable: 126, not 127.
    let out = run(
        &bin,
        &[("PATH", dir.to_str().unwrap())],
        &os(&["--iface", "lo", "plain"]),
    );
    assert_eq!(out.status.code(), Some(126), "{out:?}");
    one_line(&out, "exec \"plain\": permission denied");
    let _ = std::fs::remove_dir_all(&dir);
    let out = run(&bin, &[], &os(&["--iface", "lo", "/"]));
    assert_eq!(out.status.code(), Some(126), "a directory: {out:?}");
}

#[test]
fn not_found_exits_127() {
    let Some(bin) = waiter() else { return };
    let out = run(&bin, &[], &os(&["--iface", "lo", "pw-no-such-command"]));
    assert_eq!(out.status.code(), Some(127));
    one_line(
        &out,
        "exec \"pw-no-such-command\": executable file not found in $PATH",
    );
    let out = run(&bin, &[], &os(&["--iface", "lo", "/nonexistent/app"]));
    assert_eq!(out.status.code(), Some(127));
    one_line(&out, "exec \"/nonexistent/app\": no such file or directory");
    let out = run(
        &bin,
        &[("PATH", "/nonexistent")],
        &os(&["--iface", "lo", "true"]),
    );
    assert_eq!(out.status.code(), Some(127), "PATH is honoured");
    // An empty name is not found, as with execvp and Docker (not a PATH directory's 126).
    let out = run(
        &bin,
        &[],
        &[OsString::from("--iface"), "lo".into(), "".into()],
    );
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    one_line(&out, "exec \"\": executable file not found in $PATH");
}

/// A script whose `#!` interpreter is missing, or a program whose dynamic loader is, fails
/// with ENOENT although the file is there: the message names the interpreter and what to do,
/// also for a `#!` line ending in a carriage return (a script saved with Windows line ends),
/// and a PATH search says where it found the file instead of "not found in $PATH".
#[test]
fn a_missing_interpreter_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let Some(bin) = waiter() else { return };
    let dir = std::env::temp_dir().join(e2e::docker::unique("waiter-interp"));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let file = dir.join(name);
        std::fs::write(&file, bytes).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
        file.to_str().unwrap().to_string()
    };
    let lo = |cmd: &str| vec![OsString::from("--iface"), "lo".into(), cmd.into()];

    let bad = write("bad", b"#!/nonexistent/interp -x\necho ran\n");
    let out = run(&bin, &[], &lo(&bad));
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    one_line(
        &out,
        &format!(
            "exec {bad:?}: its interpreter \"/nonexistent/interp\" (the #! line of {bad}) \
             is missing; install it or correct that line"
        ),
    );
    let out = run(&bin, &[("PATH", dir.to_str().unwrap())], &lo("bad"));
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    one_line(
        &out,
        &format!(
            "exec \"bad\": its interpreter \"/nonexistent/interp\" (the #! line of {bad}) \
             is missing; install it or correct that line"
        ),
    );

    let crlf = write("crlf", b"#!/bin/sh\r\necho ran\r\n");
    let out = run(&bin, &[], &lo(&crlf));
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    one_line(
        &out,
        &format!(
            "exec {crlf:?}: its interpreter \"/bin/sh\\r\" (the #! line of {crlf}) \
             ends in a carriage return: the script has Windows line ends; convert it to \
             Unix line ends (dos2unix)"
        ),
    );

    // A dynamically linked program whose loader the system lacks (a glibc program in a
    // musl or scratch image): this machine's own `true` with its loader renamed.
    let real = std::fs::read("/bin/true").unwrap();
    let loader = b"/lib64/ld-linux-x86-64.so.2";
    let at = real
        .windows(loader.len())
        .position(|w| w == loader)
        .expect("/bin/true is dynamically linked with /lib64/ld-linux-x86-64.so.2");
    let mut patched = real.clone();
    patched[at..at + loader.len()].copy_from_slice(b"/lib64/ld-nonexistent-64.so");
    let elf = write("elf", &patched);
    let out = run(&bin, &[], &lo(&elf));
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    one_line(
        &out,
        &format!(
            "exec {elf:?}: its interpreter \"/lib64/ld-nonexistent-64.so\" (the dynamic \
             loader {elf} was linked for) is missing; install that C library, or build a \
             static program"
        ),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn path_search_uses_docker_default_path_when_unset() {
    let Some(bin) = waiter() else { return };
    let mut c = Command::new(&bin);
    c.args(["--iface", "lo", "env"])
        .env_clear()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = output_bounded(c.spawn().unwrap(), Duration::from_secs(20), "no PATH");
    assert!(out.status.success(), "{out:?}");
    // `env` found through the default PATH, and the environment left as it was (empty).
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
}

#[test]
fn argv_is_passed_on_verbatim() {
    let Some(bin) = waiter() else { return };
    let print = r#"printf '%s\0' "$0" "$@""#;
    let mut args = os(&[
        "-v", "--iface", "lo", "--", "sh", "-c", print, "zero", "-c", "--help", "--", "-v",
    ]);
    args.push(OsString::from_vec(vec![b'a', 0xff, 0xfe, b'z']));
    args.push(OsString::new());
    let out = run(&bin, &[], &args);
    assert!(out.status.success(), "{out:?}");
    let mut expected = Vec::new();
    for w in ["zero", "-c", "--help", "--", "-v"] {
        expected.extend_from_slice(w.as_bytes());
        expected.push(0);
    }
    expected.extend_from_slice(&[b'a', 0xff, 0xfe, b'z', 0, 0]);
    assert_eq!(out.stdout, expected);
    assert!(stderr(&out).starts_with("wait-for-weave: lo ready after "));

    // Without `--`, the first non-option word starts the command; later options belong to it.
    let out = run(
        &bin,
        &[],
        &os(&["--iface", "lo", "echo", "--timeout", "1", "--iface", "x"]),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "--timeout 1 --iface x\n"
    );
    // argv[0] is kept as given (a bare name found through PATH).
    let out = run(&bin, &[], &os(&["--iface", "lo", "sh", "-c", "echo $0"]));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "sh\n");
}

#[test]
fn exit_status_of_the_command_is_its_own() {
    let Some(bin) = waiter() else { return };
    let out = run(&bin, &[], &os(&["--iface", "lo", "sh", "-c", "exit 42"]));
    assert_eq!(out.status.code(), Some(42));
}

#[test]
fn compatibility_switches() {
    let Some(bin) = waiter() else { return };
    let out = run(
        &bin,
        &[("WAIT_FOR_WEAVE_SKIP", "yes")],
        &os(&["--iface", "pwnosuchif2", "echo", "skipped"]),
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "skipped\n");
    let out = run(
        &bin,
        &[("WAIT_FOR_WEAVE_QUIT", "yes")],
        &os(&["echo", "ran"]),
    );
    assert!(out.status.success());
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    // WEAVE_CIDR=none: the container is left alone, nothing will attach, no wait.
    let out = run(
        &bin,
        &[("WEAVE_CIDR", "none")],
        &os(&["--iface", "pwnosuchif2", "echo", "left alone"]),
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "left alone\n");
}

#[test]
fn help_and_version() {
    let Some(bin) = waiter() else { return };
    let out = run(&bin, &[], &os(&["--help"]));
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.starts_with("Usage: wait-for-weave [OPTIONS] [--] COMMAND [ARG...]\n"),
        "{help}"
    );
    assert!(
        help.contains("WAIT_FOR_WEAVE_SKIP") && help.contains("127"),
        "{help}"
    );
    let out = run(&bin, &[], &os(&["--version"]));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("wait-for-weave 0."));
}
