//! Running netlink work inside a container's network namespace.
//!
//! A netlink socket belongs to the namespace it was opened in, so the work runs on a fresh
//! OS thread that joins the namespace (`setns(CLONE_NEWNET)` on `/proc/<pid>/ns/net`) and
//! ends with it: the runtime's own threads never change namespace.

use std::future::Future;
use std::time::Duration;

use nix::sched::CloneFlags;

use super::netlink::Netlink;
use super::AttachError;
use crate::bounds;

/// How much longer than its bound the caller waits for the thread to report: the thread
/// ends its own work at the bound, so this only covers reporting it.
const REPORT_SLACK: Duration = Duration::from_secs(1);

/// Runs `work` with a [`Netlink`] socket opened in the network namespace of `pid`, bounded
/// by [`bounds::Bounds::netns`]: at the bound the thread drops the work (closing its socket)
/// and ends, so nothing of it keeps running in the namespace.
///
/// Errors: [`AttachError::Namespace`] when the namespace cannot be opened or joined (the
/// process is gone, or we lack CAP_SYS_ADMIN), the thread or its runtime cannot start, or
/// the work does not finish within the bound; otherwise what `work` returns.
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
    let bound = bounds::get().netns;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let thread_path = path.clone();
    std::thread::Builder::new()
        .name(format!("netns-{pid}"))
        .spawn(move || {
            let _ = tx.send(enter_and_run(&thread_path, bound, work));
        })
        .map_err(|e| failed(format!("cannot start a thread to enter it: {e}")))?;
    match tokio::time::timeout(bound + REPORT_SLACK, rx).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(failed("the work in it ended without an answer".into())),
        Err(_) => Err(failed(format!(
            "its thread did not report within {:?}",
            bound + REPORT_SLACK
        ))),
    }
}

/// On the namespace's own thread: join the namespace at `path`, start a runtime, open the
/// socket, run `work` for at most `bound`.
fn enter_and_run<F, Fut, T>(path: &str, bound: Duration, work: F) -> Result<T, AttachError>
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
    let outcome = rt.block_on(tokio::time::timeout(bound, async move {
        let netlink = Netlink::open().map_err(|e| failed(e.to_string()))?;
        work(netlink).await
    }));
    outcome.unwrap_or_else(|_| {
        Err(failed(format!(
            "the work in it did not finish within {bound:?}"
        )))
    })
}
