//! Running netlink work inside a container's network namespace, or reading the addresses
//! of an interface in several in turn.
//!
//! A netlink socket belongs to the namespace it was opened in, so the work runs on a fresh
//! OS thread that joins the namespace (`setns(CLONE_NEWNET)` on `/proc/<pid>/ns/net`) and
//! ends with it: the runtime's own threads never change namespace.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use nix::sched::CloneFlags;

use super::netlink::Netlink;
use super::AttachError;

/// Upper bound for one piece of work in a namespace.
const NETNS_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `work` with a [`Netlink`] socket opened in the network namespace of `pid`.
///
/// Errors: [`AttachError::Namespace`] when the namespace cannot be opened or joined (the
/// process is gone, or we lack CAP_SYS_ADMIN), the thread or its runtime cannot start, or
/// the work takes over 30 s; otherwise what `work` returns.
pub(super) async fn run_in<F, Fut, T>(pid: u32, work: F) -> Result<T, AttachError>
where
    F: FnOnce(Netlink) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, AttachError>>,
    T: Send + 'static,
{
    let path = format!("/proc/{pid}/ns/net");
    let failed = |why: String| AttachError::Namespace {
        path: path.clone(),
        why,
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let thread_path = path.clone();
    std::thread::Builder::new()
        .name(format!("netns-{pid}"))
        .spawn(move || {
            let _ = tx.send(enter_and_run(&thread_path, work));
        })
        .map_err(|e| failed(format!("cannot start a thread to enter it: {e}")))?;
    match tokio::time::timeout(NETNS_TIMEOUT, rx).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(failed("the work in it ended without an answer".into())),
        Err(_) => Err(failed(format!(
            "the work in it did not finish within {} s",
            NETNS_TIMEOUT.as_secs()
        ))),
    }
}

/// On the namespace's own thread: join the namespace at `path`, start a runtime, open the
/// socket, run `work`.
fn enter_and_run<F, Fut, T>(path: &str, work: F) -> Result<T, AttachError>
where
    F: FnOnce(Netlink) -> Fut,
    Fut: Future<Output = Result<T, AttachError>>,
{
    let failed = |why: String| AttachError::Namespace {
        path: path.to_string(),
        why,
    };
    let ns = std::fs::File::open(path)
        .map_err(|e| failed(format!("cannot open it (is the container running?): {e}")))?;
    nix::sched::setns(&ns, CloneFlags::CLONE_NEWNET)
        .map_err(|e| failed(format!("cannot join it (run as root): {e}")))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| failed(format!("cannot start a runtime in it: {e}")))?;
    rt.block_on(async move {
        let netlink = Netlink::open().map_err(|e| failed(e.to_string()))?;
        work(netlink).await
    })
}

/// A process and the IPv4 addresses (address, prefix length) its namespace's interface
/// carries.
pub(super) type Carried = (u32, Vec<(Ipv4Addr, u8)>);

/// The IPv4 addresses (address, prefix length) of interface `iface` in the network
/// namespace of each of `pids`, read on one thread that joins the namespaces in turn. A
/// process that is gone, or a namespace without `iface`, has none.
///
/// Errors: [`AttachError::Namespace`] when a namespace that exists cannot be joined (we
/// lack CAP_SYS_ADMIN), the thread or its runtime cannot start, the work takes over 30 s, or
/// netlink fails in a namespace.
pub(super) async fn addresses_in_each(
    pids: Vec<u32>,
    iface: String,
) -> Result<Vec<Carried>, AttachError> {
    if pids.is_empty() {
        return Ok(Vec::new());
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("netns-scan".to_string())
        .spawn(move || {
            let _ = tx.send(scan(&pids, &iface));
        })
        .map_err(|e| AttachError::Namespace {
            path: "/proc/<pid>/ns/net".to_string(),
            why: format!("cannot start a thread to enter them: {e}"),
        })?;
    match tokio::time::timeout(NETNS_TIMEOUT, rx).await {
        Ok(Ok(result)) => result,
        _ => Err(AttachError::Namespace {
            path: "/proc/<pid>/ns/net".to_string(),
            why: format!(
                "reading the addresses of the bridge's containers did not finish within {} s",
                NETNS_TIMEOUT.as_secs()
            ),
        }),
    }
}

/// On the scan's own thread: see [`addresses_in_each`].
fn scan(pids: &[u32], iface: &str) -> Result<Vec<Carried>, AttachError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AttachError::Namespace {
            path: "/proc/<pid>/ns/net".to_string(),
            why: format!("cannot start a runtime to read them: {e}"),
        })?;
    let mut found = Vec::with_capacity(pids.len());
    for &pid in pids {
        let path = format!("/proc/{pid}/ns/net");
        let failed = |why: String| AttachError::Namespace {
            path: path.clone(),
            why,
        };
        // Gone meanwhile: a process without a namespace holds nothing.
        let Ok(ns) = std::fs::File::open(&path) else {
            continue;
        };
        nix::sched::setns(&ns, CloneFlags::CLONE_NEWNET)
            .map_err(|e| failed(format!("cannot join it (run as root): {e}")))?;
        let addresses = rt.block_on(async {
            let nl = Netlink::open().map_err(|e| failed(e.to_string()))?;
            let Some(link) = nl.link(iface).await.map_err(|e| failed(e.to_string()))? else {
                return Ok(Vec::new());
            };
            let all = nl
                .addresses(link.index)
                .await
                .map_err(|e| failed(e.to_string()))?;
            Ok::<_, AttachError>(
                all.into_iter()
                    .filter_map(|(ip, prefix)| match ip {
                        IpAddr::V4(v4) => Some((v4, prefix)),
                        IpAddr::V6(_) => None,
                    })
                    .collect(),
            )
        })?;
        found.push((pid, addresses));
    }
    Ok(found)
}
