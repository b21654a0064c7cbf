//! The `network:NAME` backend (docs/design.md §10): connects a running container to a Docker
//! network (a local bridge network, macvlan, a plugin's, or a swarm's attachable overlay
//! spanning hosts) through the Engine API, as the waiter holds its app.
//!
//! - An exact address is connected with that address (`IPAMConfig.IPv4Address`), which
//!   Docker keeps: every later start of the container (restart policy, `docker restart`, a
//!   restarted daemon) comes back on the network with it, before its first process runs.
//! - An allocation is Docker's IPAM's. Docker does not keep an allocated address across
//!   starts (measured on 20.10: a new one at each), so the backend pins it: with the
//!   container paused (the waiter frozen, so the app cannot run on the first address),
//!   connect without an address, read what Docker gave, disconnect, connect again with it,
//!   unpause. If the address was taken meanwhile, allocate again (at most
//!   [`PIN_ATTEMPTS`] times).
//! - Each connect asks for the interface name `ethwe` where the engine takes it (API ≥ 1.48,
//!   Engine 28); older engines name it `ethN`, and the waiter finds it by its address.
//! - What Docker gave is checked against what was asked (address and prefix); a mismatch is
//!   disconnected and reported. A failure leaves the container off the network, so the
//!   caller's failure rule applies to a container that is still waiting.
//!
//! The pure decisions are [`crate::policy::network`]'s; this file does the I/O.

pub mod lookup;

use std::collections::HashMap;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::OnceCell;
use weave_cidr::Ipv4Cidr;

use super::{AttachError, Backend, Target};
use crate::docker::{self, Attachment, Daemon, DaemonError};
use crate::policy::network::{
    self, fit, step, takes_ifname, want_of, NetworkFacts, NetworkLookup, Step, Want, IFNAME,
    IFNAME_OPTION,
};
use crate::policy::rewrite::RewriteConfig;
use crate::policy::Identity;
use lookup::Lookup;

/// Allocations tried before giving up, when the address Docker gave is taken by someone
/// else between its release and its pinning.
pub const PIN_ATTEMPTS: u32 = 3;

/// Waits (ms) before connecting again while Docker says the network is gone
/// ([`Network::connect`]), or pausing again after the runtime failed to: about 3 s in all.
pub const GONE_RETRIES: [u64; 5] = [100, 200, 400, 800, 1600];

/// True when Docker answered that the network is not found (404 `network … not found`).
fn network_gone(e: &DaemonError) -> bool {
    e.status() == Some(404)
        && e.message()
            .is_some_and(|m| m.starts_with("network ") && m.ends_with(" not found"))
}

/// True when Docker answered 500: the runtime failed (not 409, a container not running).
fn runtime_failed(e: &DaemonError) -> bool {
    e.status() == Some(500)
}

/// The name of the waiter's process (`comm`): a paused container whose only process has
/// it has not run its app yet.
const WAITER_COMM: &str = "wait-for-weave";

/// The backend.
#[derive(Debug)]
pub struct Network {
    name: String,
    docker: Daemon,
    lookup: Lookup,
    /// Whether the engine takes the interface name; read once (`GET /version`).
    ifname: OnceCell<bool>,
    /// Held through each allocation and its pinning on a network whose IPAM hands out a
    /// released address again at once ([`NetworkFacts::reuses_at_once`], a daemon-local
    /// network): between the disconnect and the connect asking for the address again,
    /// the address is free, and a concurrent allocation of ours would take it (measured:
    /// 21 of 50 allocations at once on a local bridge network failed after three attempts
    /// without it). A swarm's allocator hands addresses out in turn and needs no lock.
    allocating: tokio::sync::Mutex<()>,
}

impl Network {
    /// A backend connecting containers to network `name` through `docker`; `rewrite`
    /// gives the waiter and volume container a probe runs ([`lookup`]).
    pub fn new(name: String, docker: Daemon, rewrite: RewriteConfig) -> Network {
        Network {
            lookup: Lookup::new(name.clone(), docker.clone(), rewrite),
            name,
            docker,
            ifname: OnceCell::new(),
            allocating: tokio::sync::Mutex::new(()),
        }
    }

    /// The network's name, as `--attach network:NAME` gave it.
    pub fn network_name(&self) -> &str {
        &self.name
    }

    /// The driver options of every connect: the interface name where the engine takes it.
    async fn driver_opts(&self) -> HashMap<String, String> {
        let takes = self
            .ifname
            .get_or_try_init(|| async {
                docker::api_version(&self.docker)
                    .await
                    .map(|v| takes_ifname(&v))
            })
            .await
            .copied()
            // The version is only a hint: without it, the interface keeps Docker's name.
            .unwrap_or(false);
        match takes {
            true => [(IFNAME_OPTION.to_string(), IFNAME.to_string())].into(),
            false => HashMap::new(),
        }
    }

    /// The error of a Docker call made for `target`.
    fn docker_error<'a>(
        &'a self,
        target: &'a Target,
        what: &'a str,
    ) -> impl Fn(DaemonError) -> AttachError + 'a {
        move |source| AttachError::Docker {
            what: format!("{target}: {what} network {}", self.name),
            source,
        }
    }

    async fn attachment(&self, target: &Target) -> Result<Attachment, AttachError> {
        docker::attachment(&self.docker, &target.id, &self.name)
            .await
            .map_err(self.docker_error(target, "cannot inspect it for"))?
            .ok_or_else(|| AttachError::Conflict {
                target: target.to_string(),
                why: "the container is gone".to_string(),
            })
    }

    /// Connects, retrying while Docker answers that the network is gone: on a swarm
    /// host, the network's local instance is removed as the last container there leaves
    /// it, and a connect racing that removal is answered 404 `network <id> not found`
    /// (measured on 20.10 with five allocations pinned at once); the next connect makes it
    /// again.
    async fn connect(&self, target: &Target, ip: Option<Ipv4Cidr>) -> Result<(), AttachError> {
        let opts = self.driver_opts().await;
        let addr = ip.map(|c| c.addr);
        let mut delays = GONE_RETRIES.iter();
        loop {
            match docker::connect(&self.docker, &self.name, &target.id, addr, opts.clone()).await {
                Ok(()) => break,
                Err(e) if network_gone(&e) => match delays.next() {
                    Some(ms) => {
                        tracing::info!("{target}: {e}; connecting again in {ms} ms");
                        tokio::time::sleep(Duration::from_millis(*ms)).await;
                    }
                    None => return Err(self.docker_error(target, "cannot connect it to")(e)),
                },
                Err(e) => return Err(self.docker_error(target, "cannot connect it to")(e)),
            }
        }
        match ip {
            Some(c) => tracing::info!("connected {target} to network {} with {c}", self.name),
            None => tracing::info!("connected {target} to network {} to allocate", self.name),
        }
        Ok(())
    }

    async fn disconnect(&self, target: &Target) -> Result<(), AttachError> {
        docker::disconnect(&self.docker, &self.name, &target.id)
            .await
            .map_err(self.docker_error(target, "cannot disconnect it from"))
    }

    /// Pauses or unpauses the container. A pause the runtime could not complete is tried
    /// again: runc gives up with `unable to freeze` when the cgroup freezer does not settle
    /// in time, which a loaded host sees (measured with Engine 28.5 and runc 1.1 on two
    /// busy cores).
    async fn set_paused(&self, target: &Target, paused: bool) -> Result<(), AttachError> {
        let mut delays = GONE_RETRIES.iter();
        loop {
            let (result, what) = match paused {
                true => (
                    docker::pause(&self.docker, &target.id).await,
                    "cannot pause it to allocate on",
                ),
                false => (
                    docker::unpause(&self.docker, &target.id).await,
                    "cannot unpause it after",
                ),
            };
            match (result, delays.next()) {
                (Ok(()), _) => return Ok(()),
                (Err(e), Some(ms)) if paused && runtime_failed(&e) => {
                    tracing::info!("{target}: {e}; pausing again in {ms} ms");
                    tokio::time::sleep(Duration::from_millis(*ms)).await;
                }
                (Err(e), _) => return Err(self.docker_error(target, what)(e)),
            }
        }
    }

    /// True when the container's only process is the waiter (it has not run its app).
    async fn still_waiting(&self, target: &Target) -> Result<bool, AttachError> {
        let names = docker::process_names(&self.docker, &target.id)
            .await
            .map_err(self.docker_error(target, "cannot list its processes for"))?;
        Ok(names.len() == 1 && names[0] == WAITER_COMM)
    }

    /// The address the container has on the network now, which must meet `want`; when it
    /// does not, it is disconnected (the waiter would never be satisfied) and reported.
    async fn check(
        &self,
        target: &Target,
        want: &Want,
        subnets: &[Ipv4Cidr],
    ) -> Result<Ipv4Cidr, AttachError> {
        let now = self.attachment(target).await?;
        let got = now.address;
        if let Some(got) = got.filter(|g| network::meets(want, *g, subnets)) {
            return Ok(got);
        }
        // A container that stopped (its app may have run and exited already) has no
        // endpoint to check; disconnecting it would take the network from its next start.
        if !now.running {
            return Err(AttachError::Conflict {
                target: target.to_string(),
                why: format!(
                    "it stopped before its endpoint on network {} could be checked",
                    self.name
                ),
            });
        }
        let _ = self.disconnect(target).await;
        let given = got.map_or("no IPv4 address".to_string(), |g| g.to_string());
        Err(AttachError::Conflict {
            target: target.to_string(),
            why: format!(
                "network {} gave {given}, not {want} as WEAVE_CIDR {:?} asks; the network's \
                 prefix is the one an interface on it carries",
                self.name, target.value
            ),
        })
    }

    /// Connects with exactly `c`.
    async fn connect_exact(
        &self,
        target: &Target,
        c: Ipv4Cidr,
        subnets: &[Ipv4Cidr],
    ) -> Result<(), AttachError> {
        self.connect(target, Some(c)).await?;
        self.check(target, &Want::Exact(c), subnets).await.map(drop)
    }

    /// Docker's allocation, pinned; the container is paused (its waiter frozen) throughout.
    async fn allocate_paused(
        &self,
        target: &Target,
        want: &Want,
        subnets: &[Ipv4Cidr],
        one_at_a_time: bool,
    ) -> Result<(), AttachError> {
        // Bounded by the holder's own bounded connects; a waiting client by `hold`.
        let _one_at_a_time = match one_at_a_time {
            true => Some(self.allocating.lock().await),
            false => None,
        };
        let mut attempt = 1;
        loop {
            self.connect(target, None).await?;
            let got = self.check(target, want, subnets).await?;
            match self.repin(target, got, subnets).await {
                Ok(()) => return Ok(()),
                Err(e) if attempt < PIN_ATTEMPTS => {
                    tracing::warn!("{e}; allocating again");
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Replaces the endpoint carrying `got` by one asking for exactly `got`, which Docker
    /// keeps for later starts.
    async fn repin(
        &self,
        target: &Target,
        got: Ipv4Cidr,
        subnets: &[Ipv4Cidr],
    ) -> Result<(), AttachError> {
        self.disconnect(target).await?;
        self.connect_exact(target, got, subnets).await
    }

    /// Runs `step` on a container found `paused` (and waiting) or not.
    /// `one_at_a_time`: allocations and pinnings are serialised ([`Network`]'s
    /// `allocating`).
    async fn run(
        &self,
        target: &Target,
        step: Step,
        want: &Want,
        paused: bool,
        subnets: &[Ipv4Cidr],
        one_at_a_time: bool,
    ) -> Result<(), AttachError> {
        let result = match step {
            Step::LeaveAlone => return Ok(()),
            // Paused and still waiting: let it go on, now that it has its address.
            Step::Done => Ok(()),
            Step::Conflict(got) => {
                return Err(AttachError::Conflict {
                    target: target.to_string(),
                    why: format!(
                        "it is on network {} with {got}, not {want} as WEAVE_CIDR {:?} asks: \
                         disconnect it (docker network disconnect {} {}) and start it again",
                        self.name, target.value, self.name, target.name
                    ),
                })
            }
            Step::Connect(c) => self.connect_exact(target, c, subnets).await,
            Step::Repin(got) => {
                let _held = match one_at_a_time {
                    true => Some(self.allocating.lock().await),
                    false => None,
                };
                self.repin(target, got, subnets).await
            }
            Step::Allocate => {
                if !paused {
                    self.set_paused(target, true).await?;
                }
                self.allocate_paused(target, want, subnets, one_at_a_time)
                    .await
            }
        };
        let held = paused || matches!(step, Step::Allocate);
        match result {
            Ok(()) if held => self.set_paused(target, false).await,
            Ok(()) => Ok(()),
            Err(e) if held => {
                // Let the waiter go on waiting only once it is off the network: unfrozen
                // with an address, it would run the app before the caller's kill.
                let off = self
                    .attachment(target)
                    .await
                    .is_ok_and(|a| a.address.is_none())
                    || self.disconnect(target).await.is_ok();
                if off {
                    let _ = self.set_paused(target, false).await;
                }
                Err(e)
            }
            Err(e) => Err(e),
        }
    }
}

impl Backend for Network {
    fn name(&self) -> &'static str {
        "network"
    }

    fn allocates(&self) -> bool {
        true
    }

    fn identity(&self) -> Identity {
        Identity::network(&self.name)
    }

    fn network(&self) -> Option<&str> {
        Some(&self.name)
    }

    fn lookup_network(&self) -> BoxFuture<'_, NetworkLookup> {
        Box::pin(self.lookup.facts())
    }

    fn attach<'a>(&'a self, target: &'a Target) -> BoxFuture<'a, Result<(), AttachError>> {
        Box::pin(async move {
            let unfit = |source| AttachError::Unfit {
                target: target.to_string(),
                source,
            };
            // Checked before connecting where the daemon shows the network (a worker shows
            // an overlay only once a container is attached); what Docker gives is checked
            // after in any case.
            let facts = self.lookup.visible().await.ok().flatten();
            let want = match &facts {
                Some(f) => fit(&target.value, &target.items, f),
                None => want_of(&target.value, &target.items, &self.name),
            }
            .map_err(unfit)?;
            // A network the daemon does not show is a swarm's overlay on a worker.
            let one_at_a_time = facts.as_ref().is_some_and(NetworkFacts::reuses_at_once);
            let subnets = facts.map(|f| f.subnets()).unwrap_or_default();
            let now = self.attachment(target).await?;
            let waiting = now.paused && self.still_waiting(target).await?;
            let next = step(&want, now.address, now.paused, waiting, &subnets);
            if next == Step::LeaveAlone {
                tracing::info!("{target} is paused with its app running: left alone");
            }
            self.run(target, next, &want, now.paused, &subnets, one_at_a_time)
                .await
        })
    }
}
