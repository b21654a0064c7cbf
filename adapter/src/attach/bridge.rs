//! The native `bridge` backend (default): a veth pair whose host end is a port of a Linux
//! bridge (`weave`, created if missing) and whose peer is created directly in the
//! container's network namespace as `ethwe`; addresses are added, then the link is set up
//! last, so the waiter sees a complete interface the moment it is up. It assigns exact
//! addresses only ([`crate::policy::allocation`]).
//!
//! The bridge gets no address: containers on it reach each other at layer 2. To reach
//! them from the host, give the bridge an address in their subnet
//! (`ip addr add 10.255.0.1/24 dev weave`). A bridge we create also gets the FORWARD rule
//! of [`firewall`](super::firewall) unless `--no-firewall`.

use std::time::Duration;

use futures::future::BoxFuture;
use nix::errno::Errno;
use weave_cidr::Ipv4Cidr;

use super::netlink::{Link, Netlink, NetlinkError};
use super::{announce, arp, firewall, netns, AttachError, Backend, Target};
use crate::policy::allocation::{exact_addresses, AllocationNeeded};
use crate::policy::Identity;

/// Settings of the bridge backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeConfig {
    /// Name of the Linux bridge (at most 15 bytes), default `weave`.
    pub bridge: String,
    /// Name of the interface in the container, default `ethwe`.
    pub iface: String,
    /// Add the FORWARD accept rule when we create the bridge and bridged traffic is
    /// filtered by iptables.
    pub firewall: bool,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            bridge: "weave".to_string(),
            iface: "ethwe".to_string(),
            firewall: true,
        }
    }
}

/// The native backend.
#[derive(Debug, Clone)]
pub struct Bridge {
    cfg: BridgeConfig,
}

/// Host-side name of the veth for the container whose first process is `pid`
/// (`vethwepl<pid>`, Weave's spelling; at most 15 bytes for any Linux pid).
pub fn host_veth_name(pid: u32) -> String {
    format!("vethwepl{pid}")
}

impl Bridge {
    /// A backend attaching to `cfg.bridge`.
    pub fn new(cfg: BridgeConfig) -> Self {
        Bridge { cfg }
    }

    /// The name of the bridge it attaches to.
    pub fn bridge(&self) -> &str {
        &self.cfg.bridge
    }

    /// The procedure: complete an earlier attach, or create the veth into the bridge and
    /// configure the container's end; nothing is left half-made on failure.
    async fn attach_exact(&self, target: &Target, addrs: Vec<Ipv4Cidr>) -> Result<(), AttachError> {
        let nl = netlink_error(target);
        let host = Netlink::open().map_err(nl)?;
        let veth = host_veth_name(target.pid);
        // Idempotent: when our host end exists, the container's ethwe is completed, not
        // replaced.
        if let Some(link) = host.link(&veth).await.map_err(nl)? {
            return self.complete(&host, target, link, addrs).await;
        }
        // Stable for the address, so peers' cached ARP entries stay right (see `arp`).
        let Some(mac) = addrs.first().map(|a| arp::mac_of(a.addr)) else {
            return Err(AttachError::NeedsAllocation {
                target: target.to_string(),
                source: AllocationNeeded {
                    value: target.value.clone(),
                    backend: self.name(),
                },
            });
        };
        let bridge = self.ensure_bridge(&host, target).await?;
        match self.plug(&host, target, &veth, bridge, mac).await {
            Ok(index) => self.configure_new(&host, target, index, addrs).await,
            Err(e) if e.is_kernel(Errno::EEXIST) => match host.link(&veth).await.map_err(nl)? {
                // Another attach of this container made the veth meanwhile: ours to
                // complete only when it is on our bridge, and never to remove.
                Some(link) => self.complete(&host, target, link, addrs).await,
                // Another tool made an ethwe: complete it.
                None => self.configure_existing(target, addrs).await,
            },
            Err(e) => {
                undo(&host, &veth).await;
                Err(e)
            }
        }
    }

    /// The host end `link` of an earlier (or concurrent) attach exists: complete the
    /// container's `ethwe` when `link` is a port of our bridge; when it is another bridge's,
    /// leave everything as it is ([`AttachError::Elsewhere`]). A host end without a bridge
    /// is one another process is plugging, or one left half-made: it is given a moment,
    /// then plugged into ours.
    async fn complete(
        &self,
        host: &Netlink,
        target: &Target,
        link: Link,
        addrs: Vec<Ipv4Cidr>,
    ) -> Result<(), AttachError> {
        let nl = netlink_error(target);
        let link = settled(host, link).await.map_err(nl)?;
        match link.master {
            Some(master) => {
                let bridge = host.link_by_index(master).await.map_err(nl)?;
                let name = bridge.map_or_else(|| format!("#{master}"), |b| b.name);
                if name != self.cfg.bridge {
                    return Err(AttachError::Elsewhere {
                        target: target.to_string(),
                        bridge: name,
                        ours: self.cfg.bridge.clone(),
                    });
                }
            }
            None => {
                let bridge = self.ensure_bridge(host, target).await?;
                host.set_master(link.index, bridge).await.map_err(nl)?;
            }
        }
        host.set_up(link.index).await.map_err(nl)?;
        self.configure_existing(target, addrs).await
    }

    /// The bridge's index, creating it (up, no address) when missing.
    async fn ensure_bridge(&self, host: &Netlink, target: &Target) -> Result<u32, AttachError> {
        let nl = netlink_error(target);
        let name = &self.cfg.bridge;
        if let Some(bridge) = host.link(name).await.map_err(nl)? {
            return Ok(bridge.index);
        }
        match host.add_bridge(name).await {
            Ok(()) if self.cfg.firewall => firewall::allow_forwarding(name).await,
            Ok(()) => {}
            // Another attach created it first.
            Err(e) if e.is(Errno::EEXIST) => {}
            Err(e) => return Err(nl(e)),
        }
        match host.link(name).await.map_err(nl)? {
            Some(bridge) => Ok(bridge.index),
            None => Err(vanished(target, format!("bridge {name}"))),
        }
    }

    /// Creates the veth pair (peer straight into the container's namespace as `ethwe`, with
    /// MAC `mac`) and makes the host end an up port of the bridge. Returns the host end's
    /// index.
    async fn plug(
        &self,
        host: &Netlink,
        target: &Target,
        veth: &str,
        bridge: u32,
        mac: [u8; 6],
    ) -> Result<u32, AttachError> {
        let nl = netlink_error(target);
        host.add_veth(veth, &self.cfg.iface, target.pid, mac)
            .await
            .map_err(nl)?;
        let Some(link) = host.link(veth).await.map_err(nl)? else {
            return Err(vanished(target, format!("veth {veth}")));
        };
        host.set_master(link.index, bridge).await.map_err(nl)?;
        host.set_up(link.index).await.map_err(nl)?;
        Ok(link.index)
    }

    /// Configures the `ethwe` just created; on failure deletes the host end `index`, which
    /// deletes its peer: nothing half-applied.
    async fn configure_new(
        &self,
        host: &Netlink,
        target: &Target,
        index: u32,
        addrs: Vec<Ipv4Cidr>,
    ) -> Result<(), AttachError> {
        let found = self.configure_in(target, addrs).await;
        let result = match found {
            Ok(true) => return Ok(()),
            Ok(false) => Err(AttachError::Conflict {
                target: target.to_string(),
                why: format!("{} did not appear in the container", self.cfg.iface),
            }),
            Err(e) => Err(e),
        };
        let _ = host.del_link(index).await;
        result
    }

    /// Completes an `ethwe` made earlier (missing addresses added, set up).
    async fn configure_existing(
        &self,
        target: &Target,
        addrs: Vec<Ipv4Cidr>,
    ) -> Result<(), AttachError> {
        if self.configure_in(target, addrs).await? {
            return Ok(());
        }
        let (veth, iface) = (host_veth_name(target.pid), &self.cfg.iface);
        Err(AttachError::Conflict {
            target: target.to_string(),
            why: format!(
                "{veth} exists but the container has no {iface}: remove it \
                 (ip link del {veth}) and start the container again"
            ),
        })
    }

    /// Inside the container: when `ethwe` exists, adds the missing addresses, sets it up
    /// (last) and announces the addresses. Returns whether it existed.
    async fn configure_in(
        &self,
        target: &Target,
        addrs: Vec<Ipv4Cidr>,
    ) -> Result<bool, AttachError> {
        let (name, iface) = (target.to_string(), self.cfg.iface.clone());
        netns::run_in(target.pid, move |nl| configure(nl, name, iface, addrs)).await
    }
}

/// In the container's namespace: see [`Bridge::configure_in`]; `target` names the
/// container in errors.
async fn configure(
    nl: Netlink,
    target: String,
    iface: String,
    addrs: Vec<Ipv4Cidr>,
) -> Result<bool, AttachError> {
    let failed = |source| AttachError::Netlink {
        target: target.clone(),
        source,
    };
    let Some(link) = nl.link(&iface).await.map_err(failed)? else {
        return Ok(false);
    };
    let present = nl.addresses(link.index).await.map_err(failed)?;
    for &a in &addrs {
        if present.contains(&(a.addr.into(), a.prefix)) {
            continue;
        }
        match nl.add_addr(link.index, a).await {
            Ok(()) => {}
            Err(e) if e.is(Errno::EEXIST) => {}
            Err(e) => return Err(failed(e)),
        }
    }
    nl.set_up(link.index).await.map_err(failed)?;
    let announced: Vec<_> = addrs.iter().map(|a| a.addr).collect();
    announce::announce(&nl, link.index, &announced, &format!("{iface} of {target}")).await;
    Ok(true)
}

/// The error of a netlink operation made for `target`.
fn netlink_error(target: &Target) -> impl Fn(NetlinkError) -> AttachError + Copy + '_ {
    move |source| AttachError::Netlink {
        target: target.to_string(),
        source,
    }
}

/// A link the kernel just created for `target` and then did not find.
fn vanished(target: &Target, what: String) -> AttachError {
    AttachError::Conflict {
        target: target.to_string(),
        why: format!("{what} vanished right after its creation"),
    }
}

/// How long a host end without a bridge is given to get one (another process between
/// creating the veth and plugging it in), in steps of [`SETTLE_STEP`].
const SETTLE_STEPS: u32 = 50;
/// See [`SETTLE_STEPS`].
const SETTLE_STEP: Duration = Duration::from_millis(20);

/// `link` once it has a bridge, or as it is after [`SETTLE_STEPS`] × [`SETTLE_STEP`].
async fn settled(host: &Netlink, mut link: Link) -> Result<Link, NetlinkError> {
    for _ in 0..SETTLE_STEPS {
        if link.master.is_some() {
            break;
        }
        tokio::time::sleep(SETTLE_STEP).await;
        match host.link_by_index(link.index).await? {
            Some(now) => link = now,
            None => break,
        }
    }
    Ok(link)
}

/// Removes the host end `veth` of a failed plug, if it was made.
async fn undo(host: &Netlink, veth: &str) {
    if let Ok(Some(link)) = host.link(veth).await {
        let _ = host.del_link(link.index).await;
    }
}

impl Backend for Bridge {
    fn name(&self) -> &'static str {
        "bridge"
    }

    fn allocates(&self) -> bool {
        false
    }

    fn identity(&self) -> Identity {
        Identity::bridge(&self.cfg.bridge)
    }

    fn attach<'a>(&'a self, target: &'a Target) -> BoxFuture<'a, Result<(), AttachError>> {
        Box::pin(async move {
            let addrs =
                exact_addresses(&target.items).ok_or_else(|| AttachError::NeedsAllocation {
                    target: target.to_string(),
                    source: AllocationNeeded {
                        value: target.value.clone(),
                        backend: self.name(),
                    },
                })?;
            self.attach_exact(target, addrs).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_veth_names_fit_ifnamsiz() {
        assert_eq!(host_veth_name(4_194_304).len(), 15);
        assert_eq!(host_veth_name(42), "vethwepl42");
    }
}
