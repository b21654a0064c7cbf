//! Prerequisites of the end-to-end tests.
//!
//! Outside CI a missing prerequisite (not root, no dockerd, no skopeo …) skips the test
//! with a message on stderr; with `CI=true` it fails the test instead, so CI never goes
//! green by skipping.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// True when running under CI (`CI=true`): missing prerequisites are then failures.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Checks one prerequisite. Returns `true` when `present`; otherwise panics under CI
/// (naming `what` and how to get it) or prints a skip line and returns `false`.
///
/// Use as `if !prereq::require(cond, "…") { return; }` at the top of a test.
pub fn require(present: bool, what: &str) -> bool {
    if present {
        return true;
    }
    if in_ci() {
        panic!("missing prerequisite under CI=true: {what}");
    }
    eprintln!("SKIP: missing prerequisite: {what}");
    false
}

/// True when this process runs as root (effective uid 0: network namespaces and veth
/// need it).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// True when `program --version`-style probe `args` runs and exits 0.
pub fn command_works(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// True when a Docker daemon answers (`docker info`).
pub fn docker_answers() -> bool {
    command_works("docker", &["info"])
}

/// The workspace root (parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Path of a static (musl) release binary built by `make static`, e.g. `wait-for-weave`.
/// Overridable with `<NAME>_BIN` (upper-case, `-` → `_`), e.g. `WAIT_FOR_WEAVE_BIN`.
pub fn static_bin(name: &str) -> PathBuf {
    let var = format!("{}_BIN", name.to_uppercase().replace('-', "_"));
    if let Some(p) = std::env::var_os(var) {
        return PathBuf::from(p);
    }
    workspace_root()
        .join("target/x86_64-unknown-linux-musl")
        .join(profile_of(name))
        .join(name)
}

/// The cargo profile `make static` builds binary `name` with (Cargo.toml): the waiter has
/// one of its own.
pub fn profile_of(name: &str) -> &'static str {
    match name {
        "wait-for-weave" => "release-waiter",
        _ => "release",
    }
}
