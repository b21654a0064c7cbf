//! `make demo`'s script, run as CI runs it: the loaded images, a volume container, the
//! proxy with the bridge backend and its firewall rule, two examples reaching each other
//! over `ethwe` through `DOCKER_HOST=unix:///…`, and the clean-up, also after a Ctrl-C at
//! any moment (and a second one during the clean-up).

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e::docker::{docker, unique};
use e2e::kit;
use e2e::prereq::{self, workspace_root};
use e2e::proxy::{binary, prerequisites};

/// One run of the demo script with private names, so other tests on the daemon and the host
/// are not touched.
struct Demo {
    run: String,
    volume: String,
    bridge: String,
    tmp: tempfile::TempDir,
}

impl Demo {
    fn new() -> Demo {
        let run = unique("demo");
        Demo {
            volume: format!("{run}-ww"),
            // At most 15 bytes, unique per process and run.
            bridge: format!("pwd{}", &run[run.len().saturating_sub(11)..]).replace('-', ""),
            run,
            tmp: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    fn spawn(&self) -> Child {
        // timeout passes a Ctrl-C on to the demo and sends SIGKILL `-k` seconds later, so
        // that must leave time for the clean-up on a busy machine (it alone may wait 10 s for
        // the proxy), or for the whole demo: a Ctrl-C during a docker call the CLI survives
        // (CLI 28's `docker info` ends with status 0) is one bash does not act on.
        Command::new("timeout")
            .args(["-k", "60", "300", "bash"])
            .arg(workspace_root().join("mk/demo.sh"))
            .arg(binary())
            .arg(kit::version())
            .env("DEMO_VOLUME", &self.volume)
            .env("DEMO_BRIDGE", &self.bridge)
            .env("DEMO_RUN", &self.run)
            // The default waiter's file under another Entrypoint string: other adapters or
            // proxies following this daemon's events attach (and kill on failure) only the
            // default.
            .env("DEMO_WAITER", "/home/weavewait/./wait-for-weave")
            .env("TMPDIR", self.tmp.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // As a terminal's foreground job: a Ctrl-C goes to this whole group.
            .process_group(0)
            .spawn()
            .expect("cannot run bash mk/demo.sh")
    }

    /// What the run left behind, one line per kind; empty when it cleaned up.
    fn leftovers(&self) -> Vec<String> {
        let mut left = Vec::new();
        let label = format!("label=pw-demo-run={}", self.run);
        let ids = docker(&["ps", "-aq", "--filter", &label]);
        let ids = String::from_utf8_lossy(&ids.stdout).trim().to_string();
        if !ids.is_empty() {
            left.push(format!("containers labelled {label}: {ids}"));
        }
        // Also unlabelled ones: any container mounting this run's volume container.
        let all = docker(&["ps", "-aq", "--no-trunc"]);
        for id in String::from_utf8_lossy(&all.stdout).split_whitespace() {
            let mounts = docker(&["inspect", "-f", "{{json .HostConfig.VolumesFrom}}", id]);
            if String::from_utf8_lossy(&mounts.stdout).contains(&format!("\"{}:ro\"", self.volume))
            {
                left.push(format!("container {id} mounting {}", self.volume));
            }
        }
        if docker(&["inspect", "--type", "container", &self.volume])
            .status
            .success()
        {
            left.push(format!("volume container {}", self.volume));
        }
        let link = Command::new("ip")
            .args(["link", "show", &self.bridge])
            .output()
            .unwrap();
        if link.status.success() {
            left.push(format!("bridge {}", self.bridge));
        }
        let rules = Command::new("iptables")
            .args(["-w", "5", "-S", "FORWARD"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&rules.stdout).contains(&format!("-i {} ", self.bridge)) {
            left.push(format!("an iptables FORWARD rule for {}", self.bridge));
        }
        let files: Vec<_> = std::fs::read_dir(self.tmp.path())
            .unwrap()
            .flatten()
            .map(|e| e.path().display().to_string())
            .collect();
        if !files.is_empty() {
            left.push(format!("temporary files {files:?}"));
        }
        let procs = Command::new("pgrep")
            .args(["-f", &format!("--label pw-demo-run={}", self.run)])
            .output()
            .unwrap();
        if procs.status.success() {
            left.push(format!(
                "a proxy process: {}",
                String::from_utf8_lossy(&procs.stdout).trim()
            ));
        }
        left
    }
}

/// Collects a child's stdout and stderr lines as they come.
fn collect(child: &mut Child) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    for stream in [
        Box::new(out) as Box<dyn std::io::Read + Send>,
        Box::new(err),
    ] {
        let text = text.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let mut t = text.lock().unwrap();
                t.push_str(&line);
                t.push('\n');
            }
        });
    }
    text
}

fn interrupt(child: &Child) {
    let group = nix::unistd::Pid::from_raw(-(child.id() as i32));
    let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGINT);
}

fn wait(child: &mut Child, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            start.elapsed() < limit,
            "the demo did not end within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn ready() -> bool {
    if !prerequisites() {
        return false;
    }
    let archives = ["weavewait", "weavewait-example"];
    let present = archives.iter().all(|a| kit::archive_path(a).is_file());
    if !prereq::require(present, "target/images/weavewait*.tar (run `make images`)") {
        return false;
    }
    for a in archives {
        kit::load_archive(a);
    }
    true
}

#[test]
fn demo_shows_two_containers_reaching_each_other_and_cleans_up() {
    if !ready() {
        return;
    }
    let demo = Demo::new();
    let mut child = demo.spawn();
    let text = collect(&mut child);
    let status = wait(&mut child, Duration::from_secs(300));
    std::thread::sleep(Duration::from_millis(200));
    let text = text.lock().unwrap().clone();
    assert!(status.success(), "demo failed ({status}):\n{text}");
    assert!(text.contains("ethwe inet 10.255.0.51/24"), "{text}");
    assert!(text.contains("ethwe inet 10.255.0.1/24"), "{text}");
    assert!(text.contains("waited "), "{text}");
    assert!(
        text.contains("reached 10.255.0.1:7000 at the first try: hello from 10.255.0.1"),
        "{text}"
    );
    assert!(text.contains("demo: OK"), "{text}");
    // The proxy was run as a user runs it: with the firewall rule, not --no-firewall.
    assert!(!text.contains("--no-firewall"), "{text}");
    let left = demo.leftovers();
    assert!(left.is_empty(), "the demo left {left:?} behind:\n{text}");
}

#[test]
fn an_interrupted_demo_cleans_up_at_any_moment() {
    if !ready() {
        return;
    }
    // From before the proxy is up to while the second container runs; the last run gets a
    // second Ctrl-C as soon as it says it is cleaning up.
    let moments = [200, 900, 1800, 2700, 3600];
    for (i, ms) in moments.iter().enumerate() {
        let demo = Demo::new();
        let mut child = demo.spawn();
        let text = collect(&mut child);
        std::thread::sleep(Duration::from_millis(*ms));
        interrupt(&child);
        if i == moments.len() - 1 {
            let start = Instant::now();
            while !text.lock().unwrap().contains("cleaning up")
                && start.elapsed() < Duration::from_secs(60)
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            interrupt(&child);
        }
        wait(&mut child, Duration::from_secs(120));
        std::thread::sleep(Duration::from_millis(200));
        let text = text.lock().unwrap().clone();
        let left = demo.leftovers();
        assert!(
            left.is_empty(),
            "Ctrl-C {ms} ms in left {left:?} behind:\n{text}"
        );
    }
}
