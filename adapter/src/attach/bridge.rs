//! The native `bridge` backend (default): a veth pair whose host end is a port of a Linux
//! bridge (`weave`, created if missing) and whose peer is created directly in the
//! container's network namespace as `ethwe`; addresses are added, then the link is set up
//! last, so the waiter sees a complete interface the moment it is up.
//!
//! The bridge gets no address: containers on it reach each other at layer 2. To reach
//! them from the host, give the bridge an address in their subnet
//! (`ip addr add 10.255.0.1/24 dev weave`). When the kernel passes bridged IPv4 through
//! iptables (`net.bridge.bridge-nf-call-iptables = 1`, as Docker sets it, with a FORWARD
//! policy of DROP), a bridge we create also gets `iptables -I FORWARD -i <bridge> -o
//! <bridge> -j ACCEPT`, as Weave Net did, so its ports can talk.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Stdio;

use futures::future::BoxFuture;
use futures::TryStreamExt;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::{InfoData, InfoVeth, LinkAttribute};
use rtnetlink::{Handle, LinkBridge, LinkMessageBuilder, LinkUnspec, LinkVeth};
use weave_cidr::{CidrItem, Ipv4Cidr};

use super::{netns, AttachError, Backend, Target};

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

impl Bridge {
    /// A backend attaching to `cfg.bridge`.
    pub fn new(cfg: BridgeConfig) -> Self {
        Bridge { cfg }
    }
}

/// Host-side name of the veth for the container whose first process is `pid`
/// (`vethwepl<pid>`, Weave's spelling; at most 15 bytes for any Linux pid).
pub fn host_veth_name(pid: u32) -> String {
    format!("vethwepl{pid}")
}

/// The exact addresses to assign, or the items that need an allocation.
pub fn exact_addresses(items: &[CidrItem]) -> Result<Vec<Ipv4Cidr>, Vec<CidrItem>> {
    let needs_alloc: Vec<CidrItem> = items
        .iter()
        .filter(|i| !matches!(i, CidrItem::Ip(_)))
        .copied()
        .collect();
    if items.is_empty() || !needs_alloc.is_empty() {
        return Err(needs_alloc);
    }
    Ok(items
        .iter()
        .filter_map(|i| match i {
            CidrItem::Ip(c) => Some(*c),
            _ => None,
        })
        .collect())
}

fn nl(what: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> AttachError {
    let what = what.into();
    move |e| AttachError::Netlink {
        what,
        source: match e {
            rtnetlink::Error::NetlinkError(m) => m.to_io(),
            other => std::io::Error::other(other.to_string()),
        },
    }
}

fn is_errno(e: &rtnetlink::Error, errno: i32) -> bool {
    matches!(e, rtnetlink::Error::NetlinkError(m) if m.raw_code() == -errno)
}

/// The index of link `name`, `None` when there is none.
async fn link_index(handle: &Handle, name: &str) -> Result<Option<u32>, AttachError> {
    let mut links = handle.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(Some(link)) => Ok(Some(link.header.index)),
        Ok(None) => Ok(None),
        Err(e) if is_errno(&e, libc_enodev()) => Ok(None),
        Err(e) => Err(nl(format!("cannot look up link {name}"))(e)),
    }
}

/// The name of the bridge the host end of the container with `pid` (`vethwepl<pid>`, see
/// [`host_veth_name`]) is plugged into (its `IFLA_MASTER`). `Ok(None)` when the container
/// has no such veth or the veth is on no bridge.
///
/// Errors: netlink refusing the lookups.
pub async fn bridge_of(pid: u32) -> Result<Option<String>, AttachError> {
    let (conn, handle, _) = rtnetlink::new_connection().map_err(|source| AttachError::Netlink {
        what: "cannot open netlink".to_string(),
        source,
    })?;
    let conn = tokio::spawn(conn);
    let found = bridge_of_link(&handle, &host_veth_name(pid)).await;
    conn.abort();
    found
}

async fn bridge_of_link(handle: &Handle, name: &str) -> Result<Option<String>, AttachError> {
    let what = || format!("cannot look up link {name}");
    let mut links = handle.link().get().match_name(name.to_string()).execute();
    let link = match links.try_next().await {
        Ok(Some(link)) => link,
        Ok(None) => return Ok(None),
        Err(e) if is_errno(&e, libc_enodev()) => return Ok(None),
        Err(e) => return Err(nl(what())(e)),
    };
    let Some(master) = link.attributes.iter().find_map(|a| match a {
        LinkAttribute::Controller(i) => Some(*i),
        _ => None,
    }) else {
        return Ok(None);
    };
    let mut masters = handle.link().get().match_index(master).execute();
    let master = masters
        .try_next()
        .await
        .map_err(nl(format!("cannot look up the bridge of {name}")))?;
    Ok(master.and_then(|m| {
        m.attributes.into_iter().find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n),
            _ => None,
        })
    }))
}

const fn libc_enodev() -> i32 {
    nix::errno::Errno::ENODEV as i32
}

/// Inside the container: when `iface` exists, adds the missing addresses and sets it up
/// (last). Returns whether it existed.
async fn configure(
    handle: Handle,
    iface: String,
    addrs: Vec<Ipv4Cidr>,
) -> Result<bool, AttachError> {
    let Some(index) = link_index(&handle, &iface).await? else {
        return Ok(false);
    };
    let present: Vec<(IpAddr, u8)> = handle
        .address()
        .get()
        .set_link_index_filter(index)
        .execute()
        .map_ok(|m| {
            let prefix = m.header.prefix_len;
            m.attributes.into_iter().filter_map(move |a| match a {
                AddressAttribute::Local(ip) => Some((ip, prefix)),
                _ => None,
            })
        })
        .try_collect::<Vec<_>>()
        .await
        .map_err(nl(format!("cannot list addresses of {iface}")))?
        .into_iter()
        .flatten()
        .collect();
    for a in &addrs {
        let want = (IpAddr::V4(a.addr), a.prefix);
        if present.contains(&want) {
            continue;
        }
        match handle
            .address()
            .add(index, IpAddr::V4(a.addr), a.prefix)
            .execute()
            .await
        {
            Ok(()) => {}
            Err(e) if is_errno(&e, nix::errno::Errno::EEXIST as i32) => {}
            Err(e) => return Err(nl(format!("cannot add {a} to {iface}"))(e)),
        }
    }
    handle
        .link()
        .set(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .map_err(nl(format!("cannot set {iface} up")))?;
    Ok(true)
}

impl Bridge {
    /// The bridge's index, creating it (up, no address) when missing.
    async fn ensure_bridge(&self, handle: &Handle) -> Result<u32, AttachError> {
        let name = &self.cfg.bridge;
        if let Some(index) = link_index(handle, name).await? {
            return Ok(index);
        }
        match handle
            .link()
            .add(LinkBridge::new(name).build())
            .execute()
            .await
        {
            Ok(()) => {
                if self.cfg.firewall {
                    allow_forwarding(name).await;
                }
            }
            // Another attach created it first.
            Err(e) if is_errno(&e, nix::errno::Errno::EEXIST as i32) => {}
            Err(e) => return Err(nl(format!("cannot create bridge {name}"))(e)),
        }
        link_index(handle, name)
            .await?
            .ok_or_else(|| AttachError::Netlink {
                what: format!("bridge {name} vanished after its creation"),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            })
    }

    /// Creates the veth pair (peer straight into the container's namespace as `ethwe`) and
    /// plugs the host end into the bridge, up.
    async fn plug(
        &self,
        handle: &Handle,
        target: &Target,
        bridge: u32,
    ) -> Result<u32, AttachError> {
        let host = host_veth_name(target.pid);
        let peer = LinkMessageBuilder::<LinkUnspec>::new()
            .name(self.cfg.iface.clone())
            .setns_by_pid(target.pid)
            .build();
        let veth = LinkVeth::new(&host, &self.cfg.iface)
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer)))
            .build();
        handle
            .link()
            .add(veth)
            .execute()
            .await
            .map_err(nl(format!("cannot create veth {host} for {target}")))?;
        let index = link_index(handle, &host)
            .await?
            .ok_or_else(|| AttachError::Netlink {
                what: format!("veth {host} vanished after its creation"),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            })?;
        handle
            .link()
            .set(
                LinkUnspec::new_with_index(index)
                    .controller(bridge)
                    .up()
                    .build(),
            )
            .execute()
            .await
            .map_err(nl(format!(
                "cannot plug {host} into bridge {}",
                self.cfg.bridge
            )))?;
        Ok(index)
    }
}

impl Backend for Bridge {
    fn attach<'a>(&'a self, target: &'a Target) -> BoxFuture<'a, Result<(), AttachError>> {
        Box::pin(async move {
            let addrs = exact_addresses(&target.items).map_err(|items| {
                let items: Vec<String> = items.iter().map(|i| i.to_weave_arg()).collect();
                AttachError::NeedsAllocation {
                    target: target.to_string(),
                    items: if items.is_empty() {
                        "\"\" (empty)".to_string()
                    } else {
                        items.join(" ")
                    },
                }
            })?;
            let iface = self.cfg.iface.clone();
            let (conn, handle, _) =
                rtnetlink::new_connection().map_err(|source| AttachError::Netlink {
                    what: "cannot open netlink".to_string(),
                    source,
                })?;
            tokio::spawn(conn);
            // Idempotent: when our host end exists, the container's ethwe is completed, not
            // replaced. (An ethwe made by another tool shows up as EEXIST below.)
            let host_name = host_veth_name(target.pid);
            if link_index(&handle, &host_name).await?.is_some() {
                let (i, a) = (iface.clone(), addrs.clone());
                if netns::run_in(target.pid, move |h| configure(h, i, a)).await? {
                    return Ok(());
                }
                return Err(AttachError::Netlink {
                    what: format!(
                        "{host_name} exists but {target} has no {iface}: remove it \
                         (ip link del {host_name}) and start the container again"
                    ),
                    source: std::io::Error::from(std::io::ErrorKind::AlreadyExists),
                });
            }
            let bridge = self.ensure_bridge(&handle).await?;
            let host = match self.plug(&handle, target, bridge).await {
                Ok(index) => index,
                // Another process attached it meanwhile: its veth is not ours to remove.
                Err(e) if is_exists(&e) => {
                    let (i, a) = (iface.clone(), addrs.clone());
                    if netns::run_in(target.pid, move |h| configure(h, i, a)).await? {
                        return Ok(());
                    }
                    return Err(e);
                }
                Err(e) => {
                    undo(&handle, &host_name).await;
                    return Err(e);
                }
            };
            let done = netns::run_in(target.pid, move |h| configure(h, iface.clone(), addrs))
                .await
                .and_then(|found| {
                    found.then_some(()).ok_or_else(|| AttachError::Netlink {
                        what: format!("{} did not appear in {target}", self.cfg.iface),
                        source: std::io::Error::from(std::io::ErrorKind::NotFound),
                    })
                });
            if let Err(e) = done {
                // Deleting the host end deletes its peer: nothing half-applied.
                let _ = handle.link().del(host).execute().await;
                return Err(e);
            }
            Ok(())
        })
    }
}

fn is_exists(e: &AttachError) -> bool {
    matches!(e, AttachError::Netlink { source, .. }
        if source.raw_os_error() == Some(nix::errno::Errno::EEXIST as i32))
}

async fn undo(handle: &Handle, host: &str) {
    if let Ok(Some(index)) = link_index(handle, host).await {
        let _ = handle.link().del(index).execute().await;
    }
}

/// Lets the bridge's ports talk when bridged IPv4 goes through iptables. Best effort: a
/// host without iptables (or with it not filtering bridges) needs nothing.
async fn allow_forwarding(bridge: &str) {
    let filtered = std::fs::read_to_string("/proc/sys/net/bridge/bridge-nf-call-iptables")
        .is_ok_and(|v| v.trim() == "1");
    if !filtered {
        return;
    }
    let rule = ["FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"];
    let run = |op: &'static str| {
        tokio::process::Command::new("iptables")
            .args(["-w", "5", op])
            .args(rule)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output()
    };
    let bound = std::time::Duration::from_secs(10);
    if let Ok(Ok(out)) = tokio::time::timeout(bound, run("-C")).await {
        if out.status.success() {
            return;
        }
    }
    match tokio::time::timeout(bound, run("-I")).await {
        Ok(Ok(out)) if out.status.success() => {
            tracing::info!(bridge, "added iptables FORWARD accept rule for the bridge");
        }
        Ok(Ok(out)) => tracing::warn!(
            bridge,
            "iptables refused the FORWARD rule: {}; containers on the bridge may not reach each other",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Ok(Err(e)) => tracing::warn!(
            bridge,
            "cannot run iptables ({e}); bridged traffic is filtered, so add: iptables -I FORWARD -i {bridge} -o {bridge} -j ACCEPT"
        ),
        Err(_) => tracing::warn!(bridge, "iptables did not finish in 10 s"),
    }
}

/// The address that `ethwe` of a container carries when attached with `cidr` (for tests and
/// messages: the bridge backend assigns exactly these).
pub fn addresses_of(items: &[CidrItem]) -> Vec<Ipv4Addr> {
    exact_addresses(items)
        .map(|v| v.into_iter().map(|c| c.addr).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use weave_cidr::{parse, WeaveCidr};

    fn items(s: &str) -> Vec<CidrItem> {
        match parse(s).unwrap() {
            WeaveCidr::Attach(i) => i,
            WeaveCidr::None => panic!(),
        }
    }

    #[test]
    fn exact_addresses_only() {
        assert_eq!(
            exact_addresses(&items("10.2.1.1/24 ip:10.2.1.2/16")).unwrap(),
            vec!["10.2.1.1/24".parse_cidr(), "10.2.1.2/16".parse_cidr()]
        );
        assert_eq!(exact_addresses(&items("")), Err(vec![]));
        assert_eq!(
            exact_addresses(&items("10.2.1.1/24 net:default")),
            Err(vec![CidrItem::NetDefault])
        );
    }

    #[test]
    fn host_veth_names_fit_ifnamsiz() {
        assert_eq!(host_veth_name(4_194_304).len(), 15);
        assert_eq!(host_veth_name(42), "vethwepl42");
    }

    trait ParseCidr {
        fn parse_cidr(&self) -> Ipv4Cidr;
    }
    impl ParseCidr for str {
        fn parse_cidr(&self) -> Ipv4Cidr {
            items(self)
                .into_iter()
                .find_map(|i| match i {
                    CidrItem::Ip(c) => Some(c),
                    _ => None,
                })
                .unwrap()
        }
    }
}
