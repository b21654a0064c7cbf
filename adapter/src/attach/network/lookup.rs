//! What the daemon says of the backend's network, for the create decision
//! (docs/design.md §10): `GET /networks/{name}`, and when the daemon does not know the
//! network, a probe.
//!
//! A swarm worker knows an attachable overlay only while one of its containers is attached
//! to it, so the first create on a worker would find no subnet to check the item against
//! (and none to tell the waiter for a default allocation). The probe attaches a throwaway
//! container (the volume container's image, its first process the waiter waiting for an
//! interface that never comes, bounded by `WAIT_FOR_SECONDS`, auto-removed), reads the
//! network, and removes it. One probe runs at a time; what it learned is reused for
//! [`PROBE_MEMORY`], since a network's IPAM config never changes (a network made again
//! under the same name is caught at attach, which checks what Docker gave).

use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig};
use tokio::sync::Mutex;

use crate::docker::{self, Daemon, DaemonError};
use crate::policy::network::{NetworkFacts, NetworkLookup};
use crate::policy::rewrite::RewriteConfig;

/// How long what a probe learned is reused.
pub const PROBE_MEMORY: Duration = Duration::from_secs(60);

/// Bound on the probe container's life should the adapter not remove it (it exits 124,
/// then Docker removes it).
const PROBE_LIFETIME_SECS: u32 = 120;

/// Label marking a probe container, with the network as its value.
pub const PROBE_LABEL: &str = "powerstrip-weave.probe";

/// The network's facts, as the create decision reads them.
#[derive(Debug)]
pub struct Lookup {
    name: String,
    docker: Daemon,
    rewrite: RewriteConfig,
    learned: Mutex<Option<(Instant, NetworkFacts)>>,
}

impl Lookup {
    /// A lookup of network `name` on `docker`; probes run the waiter of `rewrite` from its
    /// volume container.
    pub fn new(name: String, docker: Daemon, rewrite: RewriteConfig) -> Lookup {
        Lookup {
            name,
            docker,
            rewrite,
            learned: Mutex::new(None),
        }
    }

    /// The network as the daemon shows it now (no probe); `Ok(None)` when it does not.
    ///
    /// Errors: the daemon's, from the inspect.
    pub async fn visible(&self) -> Result<Option<NetworkFacts>, DaemonError> {
        docker::network_facts(&self.docker, &self.name).await
    }

    /// The network for the create decision: the inspect, else what a probe learned within
    /// [`PROBE_MEMORY`], else a probe.
    pub async fn facts(&self) -> NetworkLookup {
        match self.visible().await {
            Ok(Some(facts)) => return NetworkLookup::Found(facts),
            Ok(None) => {}
            Err(e) => return NetworkLookup::Failed(e.to_string()),
        }
        let mut learned = self.learned.lock().await;
        if let Some((when, facts)) = learned.as_ref() {
            if when.elapsed() < PROBE_MEMORY {
                return NetworkLookup::Found(facts.clone());
            }
        }
        let found = self.probe().await;
        if let NetworkLookup::Found(facts) = &found {
            *learned = Some((Instant::now(), facts.clone()));
        }
        found
    }

    /// Attaches a throwaway container to the network, reads the network, removes it.
    async fn probe(&self) -> NetworkLookup {
        let d = &self.docker;
        let volume = &self.rewrite.volume_container;
        let image = match docker::container_image(d, volume).await {
            Ok(Some(image)) => image,
            Ok(None) => {
                return NetworkLookup::Failed(format!(
                    "no volume container {volume} to probe network {} with",
                    self.name
                ))
            }
            Err(e) => return NetworkLookup::Failed(e.to_string()),
        };
        let name = format!(
            "powerstrip-weave-probe-{}-{}",
            std::process::id(),
            probe_number()
        );
        let started = Instant::now();
        let id = match docker::run(d, &name, self.probe_body(image)).await {
            Ok(id) => id,
            // Docker's words for an unknown network: `network NAME not found`.
            Err(e)
                if e.status() == Some(404)
                    && e.message().is_some_and(|m| m.contains("network")) =>
            {
                return NetworkLookup::Missing
            }
            Err(e) => {
                return NetworkLookup::Failed(format!("a probe container could not join it: {e}"))
            }
        };
        let found = match self.visible().await {
            Ok(Some(facts)) => NetworkLookup::Found(facts),
            Ok(None) => NetworkLookup::Missing,
            Err(e) => NetworkLookup::Failed(e.to_string()),
        };
        if let Err(e) = docker::remove(d, &id).await {
            tracing::warn!("cannot remove probe container {name} (it ends by itself): {e}");
        }
        let ms = started.elapsed().as_secs_f64() * 1e3;
        match &found {
            NetworkLookup::Found(facts) => tracing::info!(
                "network {} not shown by this daemon yet: a probe container learned its \
                 subnets {} in {ms:.0} ms",
                self.name,
                facts
                    .subnets()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            other => tracing::warn!("network {}: a probe container found {other:?}", self.name),
        }
        found
    }

    /// The probe: the waiter, waiting for an interface no one makes, on the network.
    fn probe_body(&self, image: String) -> ContainerCreateBody {
        ContainerCreateBody {
            image: Some(image),
            entrypoint: Some(vec![self.rewrite.waiter.clone()]),
            cmd: Some(vec!["probe".to_string()]),
            env: Some(vec![
                "WAIT_FOR_WEAVE_IFACE=pw-probe".to_string(),
                format!("WAIT_FOR_SECONDS={PROBE_LIFETIME_SECS}"),
            ]),
            labels: Some([(PROBE_LABEL.to_string(), self.name.clone())].into()),
            host_config: Some(HostConfig {
                network_mode: Some(self.name.clone()),
                volumes_from: Some(vec![format!("{}:ro", self.rewrite.volume_container)]),
                auto_remove: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

fn probe_number() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
