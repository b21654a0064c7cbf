//! A small rtnetlink wrapper with one method per kernel operation the bridge backend needs,
//! so the backend reads as a procedure. Every error names the operation and the objects,
//! and carries the kernel's errno when the kernel refused. Every operation is bounded
//! ([`crate::bounds::Bounds::netlink`]).

use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::time::Duration;

use futures::TryStreamExt;
use nix::errno::Errno;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::{InfoData, InfoVeth, LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::{Handle, LinkBridge, LinkMessageBuilder, LinkUnspec, LinkVeth};
use tokio::task::JoinHandle;
use weave_cidr::Ipv4Cidr;

/// A netlink operation that failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot {op}: {cause}")]
pub struct NetlinkError {
    /// What was asked, naming the objects: `create veth vethwepl42 (peer ethwe in pid 42)`.
    pub op: String,
    /// Why it failed.
    pub cause: Cause,
}

/// Why a netlink operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    /// The kernel answered with this errno.
    #[error("{}", io::Error::from(*.0))]
    Kernel(Errno),
    /// The socket could not be opened or used.
    #[error("{0}")]
    Socket(io::Error),
    /// An answer rtnetlink could not read.
    #[error("{0}")]
    Protocol(String),
    /// No answer within the bound.
    #[error("no answer from the kernel within {0:?}")]
    TimedOut(Duration),
}

impl NetlinkError {
    /// True when the kernel refused with `errno`.
    pub fn is(&self, errno: Errno) -> bool {
        matches!(self.cause, Cause::Kernel(e) if e == errno)
    }
}

/// One link as the kernel describes it (`RTM_NEWLINK`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// ifindex.
    pub index: u32,
    /// IFLA_IFNAME.
    pub name: String,
    /// IFLA_MASTER: the bridge it is a port of.
    pub master: Option<u32>,
    /// IFLA_ADDRESS when it is a MAC (6 bytes).
    pub mac: Option<[u8; 6]>,
    /// IFF_RUNNING: up, with carrier and operational state up, so frames leave.
    pub running: bool,
}

impl From<LinkMessage> for Link {
    fn from(m: LinkMessage) -> Link {
        let mut link = Link {
            index: m.header.index,
            name: String::new(),
            master: None,
            mac: None,
            running: m.header.flags.contains(LinkFlags::Running),
        };
        for a in m.attributes {
            match a {
                LinkAttribute::IfName(n) => link.name = n,
                LinkAttribute::Controller(i) => link.master = Some(i),
                LinkAttribute::Address(a) => link.mac = a.try_into().ok(),
                _ => {}
            }
        }
        link
    }
}

/// A route netlink socket in the network namespace of the thread that opened it.
pub struct Netlink {
    handle: Handle,
    connection: JoinHandle<()>,
}

impl Drop for Netlink {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

/// `op`'s error from rtnetlink's.
fn failed(op: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> NetlinkError {
    let op = op.into();
    move |e| NetlinkError {
        op,
        cause: match e {
            rtnetlink::Error::NetlinkError(m) => Cause::Kernel(Errno::from_raw(-m.raw_code())),
            other => Cause::Protocol(other.to_string()),
        },
    }
}

/// `work` (operation `op`), bounded by `bound`.
async fn within<T>(
    bound: Duration,
    op: impl FnOnce() -> String,
    work: impl Future<Output = Result<T, NetlinkError>>,
) -> Result<T, NetlinkError> {
    tokio::time::timeout(bound, work).await.unwrap_or_else(|_| {
        Err(NetlinkError {
            op: op(),
            cause: Cause::TimedOut(bound),
        })
    })
}

/// [`within`] the netlink bound in force.
async fn bounded<T>(
    op: impl FnOnce() -> String,
    work: impl Future<Output = Result<T, NetlinkError>>,
) -> Result<T, NetlinkError> {
    within(crate::bounds::get().netlink, op, work).await
}

/// The answer to an `RTM_GETLINK` of one link (operation `op`): `None` when the kernel
/// says there is no such device (`ENODEV`).
async fn one_link(
    op: impl Fn() -> String + Copy,
    mut links: impl futures::Stream<Item = Result<LinkMessage, rtnetlink::Error>> + Unpin,
) -> Result<Option<Link>, NetlinkError> {
    bounded(op, async {
        match links.try_next().await {
            Ok(link) => Ok(link.map(Link::from)),
            Err(rtnetlink::Error::NetlinkError(m)) if m.raw_code() == -(Errno::ENODEV as i32) => {
                Ok(None)
            }
            Err(e) => Err(failed(op())(e)),
        }
    })
    .await
}

impl Netlink {
    /// Opens a socket in the current thread's network namespace; needs a tokio runtime,
    /// which drives the socket until the `Netlink` is dropped.
    ///
    /// Errors: the socket cannot be opened.
    pub fn open() -> Result<Netlink, NetlinkError> {
        let (connection, handle, _) = rtnetlink::new_connection().map_err(|e| NetlinkError {
            op: "open a netlink socket".to_string(),
            cause: Cause::Socket(e),
        })?;
        Ok(Netlink {
            handle,
            connection: tokio::spawn(connection),
        })
    }

    /// `RTM_GETLINK` by name; `None` when there is no such link.
    pub async fn link(&self, name: &str) -> Result<Option<Link>, NetlinkError> {
        let op = || format!("look up link {name}");
        let links = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        one_link(op, links).await
    }

    /// `RTM_GETLINK` by ifindex; `None` when there is no such link.
    pub async fn link_by_index(&self, index: u32) -> Result<Option<Link>, NetlinkError> {
        let op = || format!("look up link {index}");
        let links = self.handle.link().get().match_index(index).execute();
        one_link(op, links).await
    }

    /// `RTM_GETLINK` dump: the links whose master is `bridge` (the bridge's ports).
    pub async fn ports(&self, bridge: u32) -> Result<Vec<Link>, NetlinkError> {
        let links = self
            .handle
            .link()
            .get()
            .execute()
            .try_collect::<Vec<_>>()
            .await
            .map_err(failed(format!("list the ports of bridge {bridge}")))?;
        Ok(links
            .into_iter()
            .map(Link::from)
            .filter(|l| l.master == Some(bridge))
            .collect())
    }

    /// `RTM_NEWLINK` of a Linux bridge `name`, up, without address.
    pub async fn add_bridge(&self, name: &str) -> Result<(), NetlinkError> {
        let op = || format!("create bridge {name}");
        let request = self
            .handle
            .link()
            .add(LinkBridge::new(name).build())
            .execute();
        bounded(op, async { request.await.map_err(failed(op())) }).await
    }

    /// `RTM_NEWLINK` of a veth pair: `name` here, and `peer` with MAC `peer_mac`
    /// (IFLA_ADDRESS) created straight in the network namespace of process `peer_pid`
    /// (IFLA_NET_NS_PID), both down.
    pub async fn add_veth(
        &self,
        name: &str,
        peer: &str,
        peer_pid: u32,
        peer_mac: [u8; 6],
    ) -> Result<(), NetlinkError> {
        let peer_link = LinkMessageBuilder::<LinkUnspec>::new()
            .name(peer.to_string())
            .address(peer_mac.to_vec())
            .setns_by_pid(peer_pid)
            .build();
        let veth = LinkVeth::new(name, peer)
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer_link)))
            .build();
        let op = || format!("create veth {name} (peer {peer} in the namespace of pid {peer_pid})");
        let request = self.handle.link().add(veth).execute();
        bounded(op, async { request.await.map_err(failed(op())) }).await
    }

    /// `RTM_SETLINK` IFLA_MASTER: makes link `index` a port of bridge `master`.
    pub async fn set_master(&self, index: u32, master: u32) -> Result<(), NetlinkError> {
        let op = || format!("plug link {index} into bridge {master}");
        let message = LinkUnspec::new_with_index(index).controller(master).build();
        let request = self.handle.link().set(message).execute();
        bounded(op, async { request.await.map_err(failed(op())) }).await
    }

    /// `RTM_SETLINK` IFF_UP on link `index`.
    pub async fn set_up(&self, index: u32) -> Result<(), NetlinkError> {
        let op = || format!("set link {index} up");
        let request = self
            .handle
            .link()
            .set(LinkUnspec::new_with_index(index).up().build())
            .execute();
        bounded(op, async { request.await.map_err(failed(op())) }).await
    }

    /// `RTM_DELLINK` of link `index` (a veth takes its peer with it).
    pub async fn del_link(&self, index: u32) -> Result<(), NetlinkError> {
        let op = || format!("delete link {index}");
        let request = self.handle.link().del(index).execute();
        bounded(op, async { request.await.map_err(failed(op())) }).await
    }

    /// `RTM_GETADDR` of link `index`: its addresses (IFA_LOCAL) with their prefix lengths.
    pub async fn addresses(&self, index: u32) -> Result<Vec<(IpAddr, u8)>, NetlinkError> {
        let op = || format!("list the addresses of link {index}");
        let request = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute()
            .try_collect::<Vec<_>>();
        let messages = bounded(op, async { request.await.map_err(failed(op())) }).await?;
        Ok(messages
            .into_iter()
            .flat_map(|m| {
                let prefix = m.header.prefix_len;
                m.attributes.into_iter().filter_map(move |a| match a {
                    AddressAttribute::Local(ip) => Some((ip, prefix)),
                    _ => None,
                })
            })
            .collect())
    }

    /// `RTM_NEWADDR` of `addr` on link `index`.
    pub async fn add_addr(&self, index: u32, addr: Ipv4Cidr) -> Result<(), NetlinkError> {
        let op = || format!("add {addr} to link {index}");
        let request = self
            .handle
            .address()
            .add(index, IpAddr::V4(addr.addr), addr.prefix)
            .execute();
        bounded(op, async { request.await.map_err(failed(op())) }).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unanswered_request_is_bounded_and_named() {
        let never = std::future::pending::<Result<(), NetlinkError>>();
        let e = within(Duration::from_millis(20), || "set link 7 up".into(), never)
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot set link 7 up: no answer from the kernel within 20ms"
        );
        let quick = async { Ok(5) };
        assert_eq!(
            within(Duration::ZERO, || "x".into(), quick).await.unwrap(),
            5
        );
    }
}
