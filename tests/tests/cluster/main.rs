//! Multi-host end-to-end tests with the vanilla docker CLI: simulated hosts (`e2e::cluster`,
//! built by `mk/cluster.sh`), one dockerd each, in one swarm with an attachable overlay.
//!
//! One three-host cluster serves every scenario, built once and torn down at the end: a
//! cluster costs seconds to build, and libtest has no hook after the last test, so a
//! cluster shared by several `#[test]`s could only be torn down by whichever finished
//! last, or leak. The scenarios therefore run in sequence inside one test, each caught on
//! its own so that one failure still lets the others run and report; each removes its own
//! containers. Those that take a daemon down come after the ones they could disturb, the
//! manager's last of all (the proxied one starts it again); no host's dockerd is restarted
//! twice in a row. The teardown is itself checked: nothing of the cluster may be left.
//!
//! The `proxied` scenarios run the product: one `powerstrip-weave proxy --attach
//! network:wnet` per host (`proxies.rs`) and the vanilla CLI through it.

mod allocation;
mod exact;
mod manager_down;
mod proxied;
mod proxies;
mod teardown;
mod worker_restart;

use std::panic::{catch_unwind, AssertUnwindSafe};

use e2e::cluster::{self, Cluster, Options};

type Scenario = fn(&Cluster);

const SCENARIOS: [(&str, Scenario); 9] = [
    ("exact addresses on hosts 2 and 3", exact::ping_across_hosts),
    (
        "allocation from 3 hosts x 5 containers",
        allocation::unique_across_the_cluster,
    ),
    (
        "worker dockerd restarted",
        worker_restart::endpoints_after_a_worker_restart,
    ),
    (
        "proxied: exact addresses on hosts 2 and 3, the app's first instruction",
        proxied::exact_addresses_and_the_first_instruction,
    ),
    (
        "proxied: allocation from 3 hosts x 5 containers",
        proxied::allocation_through_the_proxies,
    ),
    (
        "proxied: what the network cannot give is refused",
        proxied::refused_at_create,
    ),
    (
        "proxied: restarts keep the network and the address",
        proxied::restarts_keep_network_and_address,
    ),
    ("proxied: manager stopped", proxied::manager_stopped),
    (
        "manager stopped",
        manager_down::connect_fails_in_bounded_time,
    ),
];

#[test]
fn three_hosts() {
    if !cluster::prerequisites() {
        return;
    }
    let images = tempfile::tempdir().expect("temporary directory");
    let mut opts = Options::new(3);
    opts.images = cluster::test_images(images.path());
    opts.probe = true;
    let c = Cluster::up(&opts);
    eprintln!(
        "3-host cluster {} (dockerd {}) up in {:.1} s:\n{}",
        c.id,
        c.engine,
        c.up_time.as_secs_f64(),
        c.up_log
    );
    let mut failures = Vec::new();
    for (name, scenario) in SCENARIOS {
        eprintln!("--- {name}");
        if let Err(e) = catch_unwind(AssertUnwindSafe(|| scenario(&c))) {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{name}: {why}"));
        }
    }
    let id = c.id.clone();
    let down = c.down();
    assert!(
        down.is_ok(),
        "teardown left something: {}",
        down.unwrap_err()
    );
    let (report, took) = down.unwrap();
    eprintln!("teardown in {:.1} s: {report}", took.as_secs_f64());
    let left = cluster::leftovers(&id);
    assert!(left.is_empty(), "left after teardown: {left:?}");
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n{}",
        failures.len(),
        SCENARIOS.len(),
        failures.join("\n\n")
    );
}
