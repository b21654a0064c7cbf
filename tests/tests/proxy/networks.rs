//! The `network:NAME` backend through the proxy with the vanilla docker CLI, on a local
//! bridge network of the test's own (docs/design.md §10): exact addresses and the app's
//! first instruction, Docker's allocation pinned across restarts with the events follower
//! connecting nothing twice, what the network cannot give refused at create with nothing
//! created, a failed connect killing the container with Docker's reason, and `attach
//! --attach network:NAME`.

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

use e2e::docker::{docker, docker_ok, unique, Cleanup};
use e2e::kit;
use e2e::netns::eventually;
use e2e::network::{endpoint, LocalNetwork};
use e2e::prereq;
use e2e::proxy::{binary, prerequisites, stderr, Proxy, TempDir};

/// The default waiter's file under another Entrypoint string, so event followers of other
/// proxies and adapters on the shared daemon leave these containers alone.
const WAITER: &str = "/home/weavewait/./wait-for-weave";

/// A network, a volume container and a label scope of the test's own. Fields drop in
/// order: the containers first, then the network they were on.
struct Net {
    cleanup: Cleanup,
    net: LocalNetwork,
    volume: String,
    example: String,
    label: String,
    dirs: Vec<TempDir>,
}

impl Net {
    fn setup() -> Option<Net> {
        if !prerequisites() {
            return None;
        }
        let archives = ["weavewait", "weavewait-example"];
        let present = archives.iter().all(|a| kit::archive_path(a).is_file());
        if !prereq::require(present, "target/images/weavewait*.tar (run `make images`)") {
            return None;
        }
        let waiter = kit::load_archive("weavewait");
        let example = kit::load_archive("weavewait-example");
        let mut cleanup = Cleanup::default();
        let volume = cleanup.add(unique("ww"));
        docker_ok(&["create", "--name", &volume, &waiter]);
        Some(Net {
            net: LocalNetwork::new(),
            volume,
            example,
            label: format!("pw-net-test={}", unique("scope")),
            cleanup,
            dirs: Vec::new(),
        })
    }

    /// A proxy attaching to the test's network, scoped to its label; with `events`, it
    /// follows Docker's start events (scoped, so other tests' containers are not its).
    fn proxy(&mut self, events: bool) -> Proxy {
        let network = format!("network:{}", self.net.name);
        let args = [
            "--attach",
            network.as_str(),
            "--volume-container",
            &self.volume,
            "--waiter",
            WAITER,
            "--label",
            &self.label,
        ];
        if !events {
            return Proxy::start(&args);
        }
        let dir = TempDir::new("netproxy");
        let sock = dir.join("proxy.sock");
        let listen = format!("unix://{}", sock.display());
        let mut all = vec!["--listen", listen.as_str()];
        all.extend_from_slice(&args);
        let proxy = Proxy::start_with(&listen, &all, move |_| {
            std::os::unix::net::UnixStream::connect(&sock).is_ok()
        });
        self.dirs.push(dir);
        proxy
    }

    /// `docker run -d` through `p` of the example with `WEAVE_CIDR=cidr`, labelled, named
    /// `name` (registered for removal), with `extra` options and the example's `args`.
    fn run(&mut self, p: &Proxy, name: &str, cidr: &str, extra: &[&str], args: &[&str]) {
        self.cleanup.add(name);
        let env = format!("WEAVE_CIDR={cidr}");
        let mut all = vec![
            "run",
            "-d",
            "--name",
            name,
            "--label",
            &self.label,
            "-e",
            &env,
        ];
        all.extend_from_slice(extra);
        all.push(&self.example);
        all.extend_from_slice(args);
        p.docker_ok(&all);
    }
}

fn logs(name: &str) -> String {
    e2e::output_text(&docker(&["logs", name]))
}

#[test]
fn exact_addresses_and_the_apps_first_instruction() {
    let Some(mut n) = Net::setup() else { return };
    let p = n.proxy(false);
    let (server, client) = (unique("net-srv"), unique("net-cli"));
    let (srv_cidr, cli_cidr) = (n.net.cidr(10), n.net.cidr(11));
    n.run(
        &p,
        &server,
        &srv_cidr,
        &[],
        &["--iface", "any", "--serve", "7000"],
    );
    // The start was answered once the server had its address.
    assert_eq!(
        endpoint(&server, &n.net.name),
        Some((
            n.net.addr(10).parse().unwrap(),
            Some(n.net.addr(10).parse().unwrap())
        ))
    );
    let reach = format!("{}:7000", n.net.addr(10));
    n.run(
        &p,
        &client,
        &cli_cidr,
        &[],
        &["--iface", "any", "--reach", &reach],
    );
    assert_eq!(docker_ok(&["wait", &client]), "0", "{}", logs(&client));
    let out = logs(&client);
    assert!(out.contains(&format!("inet {cli_cidr}")), "{out}");
    assert!(
        out.contains(&format!("reached {reach} at the first try: hello from "))
            && out.contains(&n.net.addr(10)),
        "the client's first instruction did not reach the server: {out}"
    );
    // The rewrite told the waiter to find its interface by address.
    let env = docker_ok(&["inspect", "--format", "{{json .Config.Env}}", &client]);
    assert!(env.contains("\"WAIT_FOR_WEAVE_IFACE=any\""), "{env}");
}

/// An app that prints its address and exits at once may end before the backend reads
/// the endpoint back: its run is no failed attach (the client sees the app's exit status,
/// nothing is killed or logged as an error), and its network stays in its configuration.
#[test]
fn an_app_that_exits_at_once_is_no_failed_attach() {
    let Some(mut n) = Net::setup() else { return };
    let p = n.proxy(false);
    for i in 0..3u8 {
        let name = n.cleanup.add(unique("net-quick"));
        let cidr = n.net.cidr(40 + i);
        let env = format!("WEAVE_CIDR={cidr}");
        let out = p.docker(&[
            "run", "--name", &name, "--label", &n.label, "-e", &env, &n.example, "--iface", "any",
        ]);
        let text = e2e::output_text(&out);
        assert!(out.status.success(), "{name}: {text}");
        assert!(text.contains(&format!("inet {cidr}")), "{name}: {text}");
        let kept = docker_ok(&[
            "inspect",
            "--format",
            &format!(
                "{{{{(index .NetworkSettings.Networks \"{}\").IPAMConfig.IPv4Address}}}}",
                n.net.name
            ),
            &name,
        ]);
        assert_eq!(kept, n.net.addr(40 + i), "{name} lost its network");
    }
    let log = p.log_text();
    assert!(!log.contains(" ERROR "), "{log}");
}

#[test]
fn allocations_are_dockers_and_kept_across_restarts() {
    let Some(mut n) = Net::setup() else { return };
    let p = n.proxy(true);
    let name = unique("net-alloc");
    n.run(
        &p,
        &name,
        "",
        &["--restart=always"],
        &["--iface", "any", "--serve", "7000"],
    );
    let (addr, asked) = endpoint(&name, &n.net.name).expect("on the network");
    assert!(n.net.contains(addr), "{addr} outside {}", n.net.subnet);
    // Pinned: Docker asks for it again at every start.
    assert_eq!(asked, Some(addr));
    let env = docker_ok(&["inspect", "--format", "{{json .Config.Env}}", &name]);
    assert!(
        env.contains(&format!(
            "\"WAIT_FOR_WEAVE_DEFAULT_SUBNET={}\"",
            n.net.subnet
        )),
        "{env}"
    );
    // `State.Running` is also true while Docker waits to restart it: ask for the status.
    let started = |want: u64| {
        eventually(Duration::from_secs(30), || {
            docker_ok(&[
                "inspect",
                "--format",
                "{{.RestartCount}} {{.State.Status}}",
                &name,
            ]) == format!("{want} running")
        })
    };

    // docker restart through the proxy, then a crash the restart policy answers.
    p.docker_ok(&["restart", "-t", "1", &name]);
    assert_eq!(endpoint(&name, &n.net.name).map(|e| e.0), Some(addr));
    let pid = docker_ok(&["inspect", "--format", "{{.State.Pid}}", &name]);
    let killed = Command::new("kill").args(["-KILL", &pid]).status().unwrap();
    assert!(killed.success());
    assert!(started(1), "not restarted by its policy");
    assert_eq!(endpoint(&name, &n.net.name).map(|e| e.0), Some(addr));
    assert!(
        logs(&name).contains(&format!("inet {addr}/24")),
        "{}",
        logs(&name)
    );

    // Docker re-attached it at each start: the proxy connected it once (an allocation, then
    // the pin), and never again for the restart or the start event.
    let short = &docker_ok(&["inspect", "--format", "{{.Id}}", &name])[..12];
    let log = p.log_text();
    let connects: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("connected container") && l.contains(short))
        .collect();
    assert_eq!(connects.len(), 2, "{connects:#?}\n{log}");
    assert!(connects[0].contains("to allocate"), "{connects:#?}");
    assert!(
        connects[1].contains(&format!("with {addr}/24")),
        "{connects:#?}"
    );
}

/// Allocations started at once through one proxy on a daemon-local network, whose IPAM
/// hands out a released address again at once: each is pinned to an address of its own
/// (the pinning's disconnect frees the address for a moment), none fails.
#[test]
fn allocations_at_once_each_get_an_address_of_their_own() {
    let Some(mut n) = Net::setup() else { return };
    let p = n.proxy(false);
    let names: Vec<String> = (0..20).map(|_| n.cleanup.add(unique("net-many"))).collect();
    let outs: Vec<_> = std::thread::scope(|s| {
        let runs: Vec<_> = names
            .iter()
            .map(|name| {
                let (p, label, example) = (&p, &n.label, &n.example);
                s.spawn(move || {
                    p.docker(&[
                        "run",
                        "-d",
                        "--name",
                        name,
                        "--label",
                        label,
                        "-e",
                        "WEAVE_CIDR=",
                        example,
                        "--iface",
                        "any",
                        "--serve",
                        "7000",
                    ])
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    for (name, out) in names.iter().zip(&outs) {
        assert!(out.status.success(), "{name}: {}", stderr(out));
    }
    let mut addrs: Vec<Ipv4Addr> = names
        .iter()
        .map(|name| {
            let (addr, asked) = endpoint(name, &n.net.name).expect("on the network");
            assert_eq!(asked, Some(addr), "{name} is not pinned");
            assert!(n.net.contains(addr), "{addr} outside {}", n.net.subnet);
            addr
        })
        .collect();
    addrs.sort();
    addrs.dedup();
    assert_eq!(addrs.len(), names.len(), "{addrs:?}");
}

#[test]
fn what_the_network_cannot_give_is_refused_with_nothing_created() {
    let Some(mut n) = Net::setup() else { return };
    let p = n.proxy(false);
    let wrong_prefix = format!("{}.20/16", n.net.prefix);
    let outside = "10.250.250.20/24".to_string();
    let two = format!("{} {}", n.net.cidr(21), n.net.cidr(22));
    let narrower = format!("net:{}.0/25", n.net.prefix);
    for (value, extra, needle) in [
        (
            wrong_prefix.as_str(),
            None,
            format!(
                "asks for prefix /16, but the network's subnet is {}",
                n.net.subnet
            ),
        ),
        (
            &outside,
            None,
            format!("lies outside the network's subnets ({})", n.net.subnet),
        ),
        (&two, None, "has 2 items".to_string()),
        (
            &narrower,
            None,
            format!("Docker allocates from {}", n.net.subnet),
        ),
        (&n.net.cidr(22), Some("none"), "--network none".to_string()),
    ] {
        let name = unique("net-refused");
        let env = format!("WEAVE_CIDR={value}");
        let mut args = vec!["create", "--name", &name, "--label", &n.label, "-e", &env];
        if let Some(mode) = extra {
            args.extend(["--network", mode]);
        }
        args.push(&n.example);
        let out = p.docker(&args);
        let err = stderr(&out);
        let _ = docker(&["rm", "-f", &name]);
        assert!(!out.status.success(), "{value}: created");
        assert!(err.contains(&needle), "{value}: {err}");
        assert!(err.contains(&n.net.name), "{value}: {err}");
        let listed = docker_ok(&["ps", "-aq", "--filter", &format!("name={name}")]);
        assert_eq!(listed, "", "{value}: a container was created");
    }
}

#[test]
fn a_network_the_daemon_does_not_know_is_named() {
    let Some(n) = Net::setup() else { return };
    let missing = unique("nonet");
    let network = format!("network:{missing}");
    let p = Proxy::start(&[
        "--attach",
        &network,
        "--volume-container",
        &n.volume,
        "--waiter",
        WAITER,
        "--label",
        &n.label,
    ]);
    let name = unique("net-missing");
    let out = p.docker(&[
        "create",
        "--name",
        &name,
        "--label",
        &n.label,
        "-e",
        "WEAVE_CIDR=10.1.2.3/24",
        &n.example,
    ]);
    let _ = docker(&["rm", "-f", &name]);
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!(
            "network {missing} is not known to this Docker host"
        )),
        "{err}"
    );
    // A 502, not a 404: the CLI would take a 404 for a missing image and pull it.
    assert!(!err.contains("Unable to find image"), "{err}");
}

#[test]
fn a_failed_connect_kills_the_container_with_dockers_reason() {
    let Some(mut n) = Net::setup() else { return };
    let p = n.proxy(false);
    // Someone else holds the address.
    let holder = n.cleanup.add(unique("net-holder"));
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &holder,
        "--network",
        &n.net.name,
        "--ip",
        &n.net.addr(30),
        &n.example,
        "--iface",
        "any",
        "--serve",
        "7000",
    ]);
    let name = n.cleanup.add(unique("net-taken"));
    let env = format!("WEAVE_CIDR={}", n.net.cidr(30));
    let out = p.docker(&[
        "run", "-d", "--name", &name, "--label", &n.label, "-e", &env, &n.example,
    ]);
    let err = stderr(&out);
    assert!(!out.status.success(), "started without its network");
    // The CLI starts by id; the message names the container too.
    assert!(
        err.contains("was not given its network")
            && err.contains(&format!("container {name} ("))
            && err.contains(&format!("network {}", n.net.name)),
        "{err}"
    );
    assert!(
        err.to_lowercase().contains("already in use"),
        "Docker's reason: {err}"
    );
    assert_eq!(
        docker_ok(&[
            "inspect",
            "--format",
            "{{.State.Running}} {{.State.ExitCode}}",
            &name
        ]),
        "false 137"
    );
    // The app never ran: the waiter was killed while it waited, the reason in its log.
    let log = logs(&name);
    assert_eq!(e2e::app_output(&log), "", "the app ran: {log}");
    assert!(log.contains("cannot connect it to network"), "{log}");
    assert_eq!(endpoint(&name, &n.net.name), None);
}

/// A start the proxy did not see (Docker's restart, or a client talking to the daemon
/// directly) is attached by the events follower; when its connect fails, the first process
/// is killed (as for the bridge backend: Docker counts a failed run), the app never runs,
/// and the log gives Docker's reason.
#[test]
fn a_failed_connect_on_a_start_event_kills_the_first_process() {
    let Some(mut n) = Net::setup() else { return };
    let p = n.proxy(true);
    let holder = n.cleanup.add(unique("net-holder"));
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &holder,
        "--network",
        &n.net.name,
        "--ip",
        &n.net.addr(31),
        &n.example,
        "--iface",
        "any",
        "--serve",
        "7000",
    ]);
    let name = n.cleanup.add(unique("net-evfail"));
    let env = format!("WEAVE_CIDR={}", n.net.cidr(31));
    p.docker_ok(&[
        "create", "--name", &name, "--label", &n.label, "-e", &env, &n.example,
    ]);
    // Straight to the daemon: no client waits on the proxy.
    docker_ok(&["start", &name]);
    let state = || {
        docker_ok(&[
            "inspect",
            "--format",
            "{{.State.Running}} {{.State.ExitCode}}",
            &name,
        ])
    };
    assert!(
        eventually(Duration::from_secs(30), || state() == "false 137"),
        "{}: {}",
        state(),
        p.log_text()
    );
    let log = logs(&name);
    assert_eq!(e2e::app_output(&log), "", "the app ran: {log}");
    assert_eq!(endpoint(&name, &n.net.name), None);
    let log = p.log_text();
    assert!(
        log.contains(&format!("killed the process of container {name} ("))
            && log
                .lines()
                .any(|l| l.contains(&format!("attach of container {name} ("))
                    && l.to_lowercase().contains("already in use")),
        "{log}"
    );
}

#[test]
fn the_attach_command_connects_a_running_container() {
    let Some(mut n) = Net::setup() else { return };
    let (exact, alloc) = (
        n.cleanup.add(unique("net-cmd-x")),
        n.cleanup.add(unique("net-cmd-a")),
    );
    for name in [&exact, &alloc] {
        docker_ok(&[
            "run",
            "-d",
            "--name",
            name,
            "--stop-timeout",
            "1",
            &n.example,
            "--iface",
            "any",
            "--serve",
            "7000",
        ]);
    }
    let network = format!("network:{}", n.net.name);
    for (name, item) in [
        (&exact, n.net.cidr(40)),
        (&alloc, "net:default".to_string()),
    ] {
        for _ in 0..2 {
            // Twice: the second finds it attached and changes nothing.
            let out = Command::new(binary())
                .args(["attach", "--attach", &network, &item, name])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", e2e::output_text(&out));
        }
    }
    let want: Ipv4Addr = n.net.addr(40).parse().unwrap();
    assert_eq!(endpoint(&exact, &n.net.name), Some((want, Some(want))));
    let (got, asked) = endpoint(&alloc, &n.net.name).expect("allocated");
    assert!(n.net.contains(got) && asked == Some(got), "{got} {asked:?}");
}

#[test]
fn an_allocation_cut_short_is_completed_and_others_pauses_are_left_alone() {
    let Some(mut n) = Net::setup() else { return };
    // What a proxy killed between the allocation's steps leaves: a container paused while
    // its waiter waits, on the network with Docker's (unpinned) allocation.
    let cut = n.cleanup.add(unique("net-cut"));
    let quiet = n.proxy(false);
    quiet.docker_ok(&[
        "create",
        "--name",
        &cut,
        "--label",
        &n.label,
        "-e",
        "WEAVE_CIDR=",
        &n.example,
        "--iface",
        "any",
    ]);
    docker_ok(&["start", &cut]);
    docker_ok(&["pause", &cut]);
    docker_ok(&["network", "connect", &n.net.name, &cut]);
    let (addr, asked) = endpoint(&cut, &n.net.name).expect("allocated");
    assert_eq!(asked, None, "Docker pinned it by itself");
    // And a container whose app runs, paused by its user.
    let user = unique("net-user-paused");
    n.run(
        &quiet,
        &user,
        &n.net.cidr(60),
        &[],
        &["--iface", "any", "--serve", "7000"],
    );
    docker_ok(&["pause", &user]);
    drop(quiet);

    // A proxy following events catches up at start-up.
    let p = n.proxy(true);
    let paused = |name: &str| docker_ok(&["inspect", "--format", "{{.State.Paused}}", name]);
    assert!(
        eventually(Duration::from_secs(30), || paused(&cut) == "false"),
        "{cut} is still paused: {}",
        p.log_text()
    );
    assert_eq!(docker_ok(&["wait", &cut]), "0");
    assert_eq!(endpoint(&cut, &n.net.name), None, "exited");
    let out = logs(&cut);
    assert!(out.contains(&format!("inet {addr}/24")), "{out}");
    let pinned = docker_ok(&[
        "inspect",
        "--format",
        &format!(
            "{{{{(index .NetworkSettings.Networks \"{}\").IPAMConfig.IPv4Address}}}}",
            n.net.name
        ),
        &cut,
    ]);
    assert_eq!(pinned, addr.to_string(), "the address was not pinned");
    assert_eq!(paused(&user), "true", "a user's pause was undone");
    assert!(
        p.log_text()
            .contains("paused with its app running: left alone"),
        "{}",
        p.log_text()
    );
}
