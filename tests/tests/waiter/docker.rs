//! The waiter in real Docker containers, as the adapter sets them up: the `weavewait` image's
//! volume mounted read-only (`--volumes-from <holder>:ro`), `/home/weavewait/wait-for-weave`
//! as the entrypoint, `ethwe` attached from the host into the container's network namespace
//! by pid.

use std::time::{Duration, Instant};

use e2e::docker::{docker, docker_ok, unique, Cleanup};
use e2e::netns::{comm, eventually, Attach, Target};
use e2e::{kit, prereq};

const WAITER: &str = "/home/weavewait/wait-for-weave";

/// What the app prints when it starts: its pid, what it sees of ethwe, and whether the
/// waiter's volume is writable.
const APP: &str = r#"echo "pid $$"
echo "flags $(cat /sys/class/net/ethwe/flags)"
ip -o -4 addr show dev ethwe | awk '{print "addr " $4}'
if touch /home/weavewait/probe 2>/dev/null; then echo "volume rw"; else echo "volume ro"; fi
grep ' /home/weavewait ' /proc/mounts | awk '{print "mount " $4}' | cut -d, -f1"#;

pub(crate) struct Setup {
    cleanup: Cleanup,
    holder: String,
    app_image: String,
}

pub(crate) fn setup() -> Option<Setup> {
    let ok = prereq::require(prereq::is_root(), "root (veth into a container)")
        && prereq::require(prereq::docker_answers(), "a Docker daemon (`docker info`)")
        && prereq::require(
            kit::archive_path("weavewait").exists(),
            "target/images/weavewait.tar (run `make images`)",
        )
        && prereq::require(
            prereq::command_works("nsenter", &["--version"]),
            "nsenter (util-linux)",
        )
        && prereq::require(
            std::path::Path::new("/bin/busybox").exists(),
            "/bin/busybox (Debian package busybox-static)",
        );
    if !ok {
        return None;
    }
    let mut cleanup = Cleanup::default();
    let weavewait = load_by_id("weavewait");
    let app_image = kit::build_and_load("tests/images/busybox.toml");
    // Never the fixed name `weavewait`: a user's own volume container may have it.
    let holder = cleanup.add(unique("weavewait"));
    docker_ok(&["create", "--name", &holder, &weavewait]);
    Some(Setup {
        cleanup,
        holder,
        app_image,
    })
}

/// Loads `target/images/<name>.tar` and returns its image ID (`sha256:<config digest>`):
/// the tag may be re-pointed meanwhile by another checkout sharing the daemon.
fn load_by_id(name: &str) -> String {
    kit::load_archive(name);
    let files = kit::archive_files(&kit::archive_path(name));
    let manifest: serde_json::Value =
        serde_json::from_slice(&files["manifest.json"]).expect("manifest.json parses");
    let config = manifest[0]["Config"].as_str().expect("manifest Config");
    format!("sha256:{}", config.rsplit('/').next().unwrap())
}

impl Setup {
    /// `docker run -d` of the app behind the waiter, as the adapter rewrites it.
    pub(crate) fn run_app(&mut self, env: &[&str], cmd: &[&str]) -> String {
        let name = self.cleanup.add(unique("waiter-app"));
        let volumes = format!("{}:ro", self.holder);
        let mut args = vec![
            "run",
            "-d",
            "--name",
            &name,
            "--volumes-from",
            &volumes,
            "--entrypoint",
            WAITER,
        ];
        for e in env {
            args.extend(["-e", e]);
        }
        args.push(&self.app_image);
        args.extend_from_slice(cmd);
        docker_ok(&args);
        name
    }
}

pub(crate) fn pid_of(container: &str) -> u32 {
    docker_ok(&["inspect", "--format", "{{.State.Pid}}", container])
        .parse()
        .expect("container pid")
}

fn running(container: &str) -> bool {
    docker_ok(&["inspect", "--format", "{{.State.Running}}", container]) == "true"
}

#[test]
fn app_runs_only_after_ethwe_is_attached_from_the_host() {
    let Some(mut s) = setup() else { return };
    let app = s.run_app(&["WEAVE_CIDR=10.255.0.51/24"], &["sh", "-c", APP]);
    let pid = pid_of(&app);
    assert!(eventually(Duration::from_secs(10), || comm(pid).as_deref()
        == Some("wait-for-weave")));

    // Step by step, as weave attaches; the app must not start before the last step.
    let attach = Attach::create(Target::Pid(pid), "ethwe");
    attach.move_in().rename();
    std::thread::sleep(Duration::from_millis(100));
    attach.add_addr("10.255.0.51/24");
    std::thread::sleep(Duration::from_millis(100));
    assert!(running(&app), "still waiting before `up`");
    assert_eq!(comm(pid).as_deref(), Some("wait-for-weave"));
    assert_eq!(docker_ok(&["logs", &app]), "", "the app has not run yet");
    attach.up();

    assert_eq!(docker_ok(&["wait", &app]), "0");
    let logs = docker_ok(&["logs", &app]);
    let lines: Vec<&str> = logs.lines().collect();
    assert!(lines.contains(&"pid 1"), "exec'd as PID 1: {logs}");
    assert!(lines.contains(&"addr 10.255.0.51/24"), "{logs}");
    let flags = lines
        .iter()
        .find_map(|l| l.strip_prefix("flags 0x"))
        .and_then(|f| u32::from_str_radix(f, 16).ok())
        .unwrap_or_else(|| panic!("no flags line: {logs}"));
    assert_eq!(flags & 1, 1, "IFF_UP when the app started: {logs}");
    assert!(
        lines.contains(&"volume ro"),
        "the waiter is read-only inside: {logs}"
    );
    assert!(lines.contains(&"mount ro"), "{logs}");
}

#[test]
fn docker_stop_of_a_waiting_container_is_quick_and_exits_143() {
    let Some(mut s) = setup() else { return };
    let app = s.run_app(&["WEAVE_CIDR=10.255.0.52/24"], &["echo", "must not run"]);
    let pid = pid_of(&app);
    assert!(eventually(Duration::from_secs(10), || {
        e2e::netns::waiter_is_waiting(pid)
    }));
    let started = Instant::now();
    let out = docker(&["stop", &app]);
    let took = started.elapsed();
    assert!(out.status.success(), "{out:?}");
    assert!(
        took < Duration::from_secs(2),
        "docker stop took {took:?} (PID 1 ignoring SIGTERM waits 10 s)"
    );
    assert_eq!(
        docker_ok(&["inspect", "--format", "{{.State.ExitCode}}", &app]),
        "143"
    );
    assert_eq!(docker_ok(&["logs", &app]), "");
}

#[test]
fn the_app_gets_a_clean_signal_state() {
    let Some(mut s) = setup() else { return };
    // grep itself is the exec'd PID 1 (a shell would change its own dispositions).
    let app = s.run_app(
        &["WEAVE_CIDR=10.255.0.53/24"],
        &["grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"],
    );
    let pid = pid_of(&app);
    assert!(eventually(Duration::from_secs(10), || comm(pid).as_deref()
        == Some("wait-for-weave")));
    let _attach = Attach::all(Target::Pid(pid), "ethwe", &["10.255.0.53/24"]);
    assert_eq!(docker_ok(&["wait", &app]), "0");
    let logs = docker_ok(&["logs", &app]);
    assert!(logs.contains("SigBlk:\t0000000000000000"), "{logs}");
    assert!(logs.contains("SigIgn:\t0000000000000000"), "{logs}");
}

#[test]
fn a_bad_weave_cidr_fails_the_container_at_once_with_status_2() {
    let Some(mut s) = setup() else { return };
    let app = s.run_app(&["WEAVE_CIDR=10.255.0.54"], &["echo", "must not run"]);
    let status = docker_ok(&["wait", &app]);
    assert_eq!(status, "2");
    let out = docker(&["logs", &app]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("wait-for-weave: invalid WEAVE_CIDR \"10.255.0.54\": "),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}
