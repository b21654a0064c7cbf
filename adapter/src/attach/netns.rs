//! Running netlink work inside a container's network namespace.
//!
//! A netlink socket belongs to the namespace it was opened in, so the work runs on a fresh
//! OS thread that joins the namespace (`setns(CLONE_NEWNET)` on `/proc/<pid>/ns/net`) and
//! ends with it: the runtime's own threads never change namespace.

use std::future::Future;
use std::time::Duration;

use nix::sched::CloneFlags;

use super::AttachError;

/// Upper bound for one piece of work in a namespace.
const NETNS_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `work` with an rtnetlink handle opened in the network namespace of `pid`.
///
/// Errors: the namespace cannot be opened or joined (the process is gone, or we lack
/// CAP_SYS_ADMIN), the socket cannot be opened, `work` fails, or it takes over 30 s.
pub(super) async fn run_in<F, Fut, T>(pid: u32, work: F) -> Result<T, AttachError>
where
    F: FnOnce(rtnetlink::Handle) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, AttachError>>,
    T: Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let io_err = |what: String| move |source: std::io::Error| AttachError::Netlink { what, source };
    std::thread::Builder::new()
        .name(format!("netns-{pid}"))
        .spawn(move || {
            let result = (|| {
                let path = format!("/proc/{pid}/ns/net");
                let ns = std::fs::File::open(&path).map_err(io_err(format!(
                    "cannot open {path} (is the container running?)"
                )))?;
                nix::sched::setns(&ns, CloneFlags::CLONE_NEWNET)
                    .map_err(|e| io_err(format!("cannot join {path} (run as root)"))(e.into()))?;
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(io_err("cannot start a runtime for the namespace".into()))?;
                rt.block_on(async move {
                    let (conn, handle, _) = rtnetlink::new_connection()
                        .map_err(io_err(format!("cannot open netlink in {path}")))?;
                    tokio::spawn(conn);
                    work(handle).await
                })
            })();
            let _ = tx.send(result);
        })
        .map_err(io_err("cannot start a thread".into()))?;
    match tokio::time::timeout(NETNS_TIMEOUT, rx).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(AttachError::Netlink {
            what: format!("netlink work in the namespace of pid {pid} ended without an answer"),
            source: std::io::Error::other("thread ended"),
        }),
        Err(_) => Err(AttachError::Netlink {
            what: format!("netlink work in the namespace of pid {pid}"),
            source: std::io::Error::from(std::io::ErrorKind::TimedOut),
        }),
    }
}
