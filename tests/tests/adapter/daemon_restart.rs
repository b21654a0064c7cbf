//! dockerd stopped and started again under a running powerstrip adapter (a private daemon:
//! the shared one is never restarted).
//! - While it is down, hooks are still answered promptly with a 200 envelope: a create
//!   whose rewrite needs the image's config is passed through, a start's post-hook
//!   carries an error naming the daemon.
//! - When it is back, the same adapter process follows events again (a container started
//!   by another client is attached from its `start` event), and a `--restart=always`
//!   container that Docker restarts gets its `ethwe` before its app runs again.
//! - With live-restore, running containers keep their `ethwe` and are not touched.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use e2e::adapter::{http, Adapter, API};
use e2e::docker::unique;
use e2e::netns::eventually;
use e2e::private::{
    ethwe_indexes, prerequisites, weavewait_image, PrivateDaemon, Snapshot, BUSYBOX,
};

/// The app of every container here: prints `RUN-<n>`, n being how many times its first
/// instruction sees `cidr` on `ethwe` (1 when attached before it ran), then sleeps.
fn app(cidr: &str) -> Vec<String> {
    vec![
        "sh".into(),
        "-c".into(),
        format!(
            "echo RUN-$(ip -4 -o addr show ethwe 2>/dev/null | grep -c 'inet {cidr} '); exec sleep 300"
        ),
    ]
}

/// A create body as the CLI sends it, for the adapter's scope, asking for `cidr`, with a
/// stop timeout of 1 s (`sleep` as PID 1 ignores SIGTERM; a stopping dockerd would wait
/// 10 s for it).
fn body(a: &Adapter, cidr: &str, restart: &str) -> Value {
    let env = format!("WEAVE_CIDR={cidr}");
    let cmd = app(cidr);
    let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let mut b = a.create_body(&[&env], &cmd, "default");
    b["HostConfig"]["RestartPolicy"]["Name"] = restart.into();
    b["StopTimeout"] = 1.into();
    b
}

/// Waits (60 s at most) until container `name` printed `runs` RUN lines.
fn wait_runs(d: &PrivateDaemon, name: &str, runs: usize) {
    assert!(
        eventually(Duration::from_secs(60), || d
            .logs(name)
            .matches("RUN-")
            .count()
            >= runs),
        "{name}: {runs} run(s) expected, logs: {}",
        d.logs(name)
    );
}

/// Created through the adapter's hooks, started by another client (straight at the
/// daemon: no post-hook); returns the name.
fn start_behind_the_adapter(a: &mut Adapter, cidr: &str) -> String {
    let name = unique("behind");
    let b = body(a, cidr, "no");
    let (code, resp) = a.create(&name, &b);
    assert_eq!(code, 201, "{resp}");
    let (code, resp) = http(
        a.conn(),
        "POST",
        &format!("{API}/containers/{name}/start"),
        None,
    );
    assert_eq!(code, 204, "{resp}");
    name
}

#[test]
fn the_adapter_follows_again_after_a_dockerd_restart() {
    if !prerequisites() {
        return;
    }
    let d = PrivateDaemon::up(false);
    let mut a = Adapter::start_on(d.host(), &weavewait_image(), BUSYBOX, &["--no-firewall"]);
    let pid = a.pid();
    let always = unique("always");
    let b = body(&a, "10.255.0.71/24", "always");
    a.run(&always, &b);
    wait_runs(&d, &always, 1);
    assert_eq!(d.logs(&always).trim(), "RUN-1");

    d.stop();
    // Down: every hook is answered at once, with a 200 envelope.
    let sock = d.socket().display().to_string();
    let needs_image = {
        let mut b = body(&a, "10.255.0.72/24", "no");
        b["Cmd"] = Value::Null;
        format!("{b}\n")
    };
    let t = Instant::now();
    let sent = a.pre_create(&unique("down"), &needs_image);
    let pre_took = t.elapsed();
    assert_eq!(
        sent.as_deref(),
        Some(needs_image.as_str()),
        "a create the adapter cannot rewrite is passed through unchanged"
    );
    let path = format!("{API}/containers/{always}/start");
    let t = Instant::now();
    let post = a.hook(&json!({
        "Type": "post-hook", "PowerstripProtocolVersion": 1,
        "ClientRequest": {"Method": "POST", "Request": path, "Body": null},
        "ServerResponse": {"Body": "", "Code": 204, "ContentType": null},
    }));
    let post_took = t.elapsed();
    eprintln!(
        "while dockerd is down: create pre-hook answered in {:.1} ms, start post-hook in {:.1} ms",
        pre_took.as_secs_f64() * 1e3,
        post_took.as_secs_f64() * 1e3
    );
    let message = post["ModifiedServerResponse"]["Body"]
        .as_str()
        .and_then(|b| serde_json::from_str::<Value>(b).ok())
        .and_then(|b| b["message"].as_str().map(str::to_string))
        .unwrap_or_default();
    let names_daemon = message.contains(&sock);

    let took = d.start();
    let back = Instant::now();
    eprintln!("dockerd back in {:.1} s", took.as_secs_f64());
    assert!(a.is_running(), "the adapter exited:\n{}", a.log_text());
    assert_eq!(a.pid(), pid);
    let other = start_behind_the_adapter(&mut a, "10.255.0.73/24");
    wait_runs(&d, &other, 1);
    let resubscribed = back.elapsed();
    assert_eq!(d.logs(&other).trim(), "RUN-1", "{}", a.log_text());

    wait_runs(&d, &always, 2);
    let restarted = back.elapsed();
    let log = d.logs(&always);
    assert_eq!(log.matches("RUN-1").count(), 2, "{log}\n{}", a.log_text());

    let ended_before = a.log_text().matches("event stream ended").count();
    let later = start_behind_the_adapter(&mut a, "10.255.0.74/24");
    wait_runs(&d, &later, 1);
    assert_eq!(d.logs(&later).trim(), "RUN-1");
    assert_eq!(
        a.log_text().matches("event stream ended").count(),
        ended_before,
        "the event stream ended again after the restart:\n{}",
        a.log_text()
    );
    eprintln!(
        "after dockerd came back: a container started by another client ran attached {:.2} s later; \
         the --restart=always container ran again attached {:.2} s later",
        resubscribed.as_secs_f64(),
        restarted.as_secs_f64()
    );
    assert!(
        names_daemon,
        "the start post-hook answered while the daemon was down does not name it ({sock}): {message:?}"
    );
}

#[test]
fn with_live_restore_the_adapter_leaves_running_containers_untouched() {
    if !prerequisites() {
        return;
    }
    let d = PrivateDaemon::up(true);
    let mut a = Adapter::start_on(d.host(), &weavewait_image(), BUSYBOX, &["--no-firewall"]);
    let plain = unique("live");
    let always = unique("live-always");
    let b = body(&a, "10.255.0.75/24", "no");
    a.run(&plain, &b);
    let b = body(&a, "10.255.0.76/24", "always");
    a.run(&always, &b);
    wait_runs(&d, &plain, 1);
    wait_runs(&d, &always, 1);
    let before: Vec<Snapshot> = [&plain, &always]
        .iter()
        .map(|name| {
            let snap = d.snapshot(name);
            assert_eq!(
                snap.host_veth,
                Some(snap.ethwe.1),
                "{name}: the host end is not ethwe's peer"
            );
            snap
        })
        .collect();

    d.stop();
    for snap in &before {
        let (name, pid) = (&snap.name, &snap.pid);
        assert!(
            std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "{name} (pid {pid}) died with dockerd despite live-restore"
        );
        assert_eq!(
            ethwe_indexes(pid),
            snap.ethwe,
            "{name}: ethwe changed while dockerd was down"
        );
    }
    d.start();
    let other = start_behind_the_adapter(&mut a, "10.255.0.77/24");
    wait_runs(&d, &other, 1);
    assert_eq!(d.logs(&other).trim(), "RUN-1");
    assert!(
        eventually(Duration::from_secs(30), || a
            .log_text()
            .contains("running container(s) attached or found attached")),
        "the follower's re-subscription scan did not run:\n{}",
        a.log_text()
    );
    // Untouched: same process, never restarted, one run, same veth on both ends.
    d.assert_untouched(&before, "adapter", &a.log_text());
    assert!(a.is_running());
}
