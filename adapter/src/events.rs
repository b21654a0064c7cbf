//! Following Docker's `/events` for container `start` (restart policies, `docker start`
//! from other clients) and catching up on containers left waiting (docs/design.md §5).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::query_parameters::EventsOptions;
use futures::StreamExt;

use crate::attach::attacher::{Attacher, OnFailure, Outcome};
use crate::bounds;
use crate::docker;

/// First wait between re-subscriptions to `/events`; it doubles up to
/// [`bounds::Bounds::backoff`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// Attempts per container in [`attach_waiting`] before giving up until the next scan.
pub const SCAN_ATTEMPTS: u32 = 5;

fn filters(attacher: &Attacher, event: bool) -> HashMap<String, Vec<String>> {
    let mut f = HashMap::new();
    if event {
        f.insert("type".to_string(), vec!["container".to_string()]);
        f.insert("event".to_string(), vec!["start".to_string()]);
    } else {
        f.insert("status".to_string(), vec!["running".to_string()]);
    }
    if let Some((k, v)) = attacher.policy().scope.label() {
        f.insert("label".to_string(), vec![format!("{k}={v}")]);
    }
    f
}

/// Attaches every running container still asking for it, with retries and backoff; never
/// kills (the container keeps waiting when attaching fails). Returns how many were attached
/// or already attached.
pub async fn attach_waiting(attacher: &Arc<Attacher>) -> usize {
    let list = match docker::running(attacher.docker(), filters(attacher, false)).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("cannot list running containers: {e}");
            return 0;
        }
    };
    let mut attached = 0;
    for id in list {
        let mut delay = FIRST_BACKOFF;
        for attempt in 1..=SCAN_ATTEMPTS {
            match attacher.attach(&id, OnFailure::Nothing).await {
                Ok(Outcome::Attached(_)) => {
                    attached += 1;
                    break;
                }
                Ok(_) => break,
                Err(e) if attempt == SCAN_ATTEMPTS => {
                    tracing::error!("giving up on {id} for now: {e}");
                }
                Err(_) => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(bounds::get().backoff);
                }
            }
        }
    }
    attached
}

/// Follows `start` events forever: each start of a waiting container is attached, and a
/// failure kills only its process (the restart policy retries). The stream is
/// re-subscribed with backoff from the last event seen, and every (re)subscription first
/// catches up with [`attach_waiting`], so nothing started meanwhile is lost.
pub async fn follow(attacher: Arc<Attacher>) {
    let daemon = attacher.docker().addr().clone();
    let mut delay = FIRST_BACKOFF;
    let mut since: Option<i64> = None;
    loop {
        let opts = EventsOptions {
            since: since.map(|s| s.to_string()),
            until: None,
            filters: Some(filters(&attacher, true)),
        };
        let mut stream = attacher.docker().events(Some(opts));
        let scan = attacher.clone();
        tokio::spawn(async move {
            let n = attach_waiting(&scan).await;
            if n > 0 {
                tracing::info!("{n} running container(s) attached or found attached");
            }
        });
        while let Some(item) = stream.next().await {
            match item {
                Ok(ev) => {
                    delay = FIRST_BACKOFF;
                    since = ev.time.or(since);
                    let Some(id) = ev.actor.and_then(|a| a.id) else {
                        continue;
                    };
                    let a = attacher.clone();
                    tokio::spawn(async move {
                        let _ = a.attach(&id, OnFailure::KillProcess).await;
                    });
                }
                Err(e) => {
                    let e = attacher.docker().error(e);
                    tracing::warn!("Docker event stream failed: {e}");
                    break;
                }
            }
        }
        tracing::warn!(
            "the Docker daemon's event stream ended ({daemon}); re-subscribing in {delay:?}"
        );
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(bounds::get().backoff);
    }
}
