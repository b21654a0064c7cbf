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
    run_within(pid, bounds::get().netns, work).await
}

/// [`run_in`] with `bound` instead of the bound in force.
async fn run_within<F, Fut, T>(pid: u32, bound: Duration, work: F) -> Result<T, AttachError>
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
    // The timer needs the runtime: it is made inside `block_on`.
    let outcome = rt.block_on(async move {
        let work = async move {
            let netlink = Netlink::open().map_err(|e| failed(e.to_string()))?;
            work(netlink).await
        };
        tokio::time::timeout(bound, work).await
    });
    outcome.unwrap_or_else(|_| {
        Err(failed(format!(
            "the work in it did not finish within {bound:?}"
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The threads of this process whose name starts with `prefix`.
    fn threads(prefix: &str) -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|name| name.starts_with(prefix))
            .count()
    }

    #[tokio::test]
    async fn work_in_a_namespace_is_bounded_and_its_thread_ends() {
        // Our own namespace: joining it needs CAP_SYS_ADMIN, as any namespace does.
        let pid = std::process::id();
        let done = run_within(pid, Duration::from_secs(10), |nl| async move {
            Ok(nl.link("lo").await.ok().flatten().is_some())
        })
        .await;
        match done {
            Ok(seen) => assert!(seen, "lo seen from the thread"),
            // Not root: the refusal says so, and there is no thread to bound.
            Err(e) => {
                assert!(
                    e.to_string().contains("cannot join it (run as root)"),
                    "{e}"
                );
                return;
            }
        }
        let stuck = run_within(pid, Duration::from_millis(50), |_nl| async {
            std::future::pending::<Result<(), AttachError>>().await
        })
        .await
        .unwrap_err();
        assert_eq!(
            stuck.to_string(),
            format!(
                "network namespace /proc/{pid}/ns/net: the work in it did not finish within 50ms"
            )
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while threads(&format!("netns-{pid}")) > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the namespace thread is left"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
