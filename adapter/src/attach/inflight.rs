//! The attaches under way, so a stopping proxy or adapter can let them finish (bounded)
//! instead of cutting them off midway: an attach cut off leaves its container waiting and
//! skips the backend's own undo of a half-made interface.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

/// The attaches under way, by container as named to the attacher.
#[derive(Debug, Default)]
pub struct InFlight {
    running: Mutex<(u64, HashMap<u64, String>)>,
    changed: Notify,
}

/// One attach under way, counted until dropped.
#[derive(Debug)]
pub struct Ticket {
    of: Arc<InFlight>,
    key: u64,
}

impl InFlight {
    /// Counts the attach of `container` until the ticket is dropped.
    pub fn start(self: &Arc<Self>, container: &str) -> Ticket {
        let mut r = self.running.lock().unwrap_or_else(|p| p.into_inner());
        r.0 += 1;
        let key = r.0;
        r.1.insert(key, container.to_string());
        Ticket {
            of: self.clone(),
            key,
        }
    }

    /// The containers being attached now.
    pub fn names(&self) -> Vec<String> {
        let r = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<String> = r.1.values().cloned().collect();
        names.sort();
        names
    }

    /// Waits until no attach is under way, at most `bound`. Returns the containers still
    /// being attached when `bound` passed (empty: all finished).
    pub async fn drain(&self, bound: Duration) -> Vec<String> {
        let all_done = async {
            loop {
                let changed = self.changed.notified();
                if self.names().is_empty() {
                    return;
                }
                changed.await;
            }
        };
        match tokio::time::timeout(bound, all_done).await {
            Ok(()) => Vec::new(),
            Err(_) => self.names(),
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut r = self.of.running.lock().unwrap_or_else(|p| p.into_inner());
        r.1.remove(&self.key);
        drop(r);
        self.of.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drain_waits_for_the_attaches_under_way_within_its_bound() {
        let inflight = Arc::new(InFlight::default());
        assert!(inflight.drain(Duration::ZERO).await.is_empty());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = {
            let inflight = inflight.clone();
            tokio::spawn(async move {
                let _ticket = inflight.start("web-1");
                let _ = rx.await;
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(inflight.names(), ["web-1"]);
        assert_eq!(inflight.drain(Duration::from_millis(20)).await, ["web-1"]);
        let drained = {
            let inflight = inflight.clone();
            tokio::spawn(async move { inflight.drain(Duration::from_secs(10)).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        tx.send(()).unwrap();
        task.await.unwrap();
        assert!(drained.await.unwrap().is_empty());
    }
}
