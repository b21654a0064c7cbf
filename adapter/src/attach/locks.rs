//! One lock per container being attached: the start hook and the `start` event race for
//! the same container, and its attaches must run one after the other.
//!
//! A container's entry lives exactly as long as someone holds or awaits its lock: every
//! holder and waiter is counted under the map's mutex and uncounted when its [`Held`] is
//! dropped (also when the waiting or the attach is cancelled), so the map is empty whenever
//! no attach is under way. Each release is logged at DEBUG with the map's size after it
//! (`attach lock … released held=N`), which shows it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::OwnedMutexGuard;

#[derive(Debug, Default)]
struct Entry {
    mutex: Arc<tokio::sync::Mutex<()>>,
    /// Holders and waiters.
    users: usize,
}

type Map = Arc<Mutex<HashMap<String, Entry>>>;

/// The per-container attach locks.
#[derive(Debug, Default)]
pub struct Locks {
    map: Map,
}

/// A container's lock, held until dropped.
#[derive(Debug)]
pub struct Held {
    map: Map,
    id: String,
    guard: Option<OwnedMutexGuard<()>>,
}

/// Another attach of the container held its lock for the whole bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("another attach of it held its lock for over {0:?}")]
pub struct Busy(pub Duration);

impl Locks {
    /// The lock of container `id`, once every earlier holder released it, waiting at most
    /// `bound`.
    ///
    /// Errors: [`Busy`] when `bound` passed first.
    pub async fn lock(&self, id: &str, bound: Duration) -> Result<Held, Busy> {
        let mutex = {
            let mut map = lock(&self.map);
            let entry = map.entry(id.to_string()).or_default();
            entry.users += 1;
            entry.mutex.clone()
        };
        // Counted from here: dropping `held` uncounts, whether or not the lock came.
        let mut held = Held {
            map: self.map.clone(),
            id: id.to_string(),
            guard: None,
        };
        match tokio::time::timeout(bound, mutex.lock_owned()).await {
            Ok(guard) => {
                held.guard = Some(guard);
                Ok(held)
            }
            Err(_) => Err(Busy(bound)),
        }
    }

    /// How many containers have an entry (held or awaited).
    pub fn len(&self) -> usize {
        lock(&self.map).len()
    }

    /// True when no container has an entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let had_it = self.guard.take().is_some();
        let mut map = lock(&self.map);
        if let Some(entry) = map.get_mut(&self.id) {
            entry.users -= 1;
            if entry.users == 0 {
                map.remove(&self.id);
            }
        }
        let held = map.len();
        let short = self.id.get(..12).unwrap_or(&self.id);
        if had_it {
            tracing::debug!(held, "attach lock of {short} released");
        } else {
            tracing::debug!(held, "attach lock of {short} no longer awaited");
        }
    }
}

fn lock(map: &Map) -> MutexGuard<'_, HashMap<String, Entry>> {
    map.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn one_holder_at_a_time_and_nothing_left() {
        let locks = Arc::new(Locks::default());
        let first = locks.lock("c1", LONG).await.unwrap();
        let waiter = {
            let locks = locks.clone();
            tokio::spawn(async move { locks.lock("c1", LONG).await.map(drop) })
        };
        let other = locks.lock("c2", LONG).await.unwrap();
        assert_eq!(locks.len(), 2);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiter.is_finished(),
            "the second attach waits for the first"
        );
        drop(first);
        waiter.await.unwrap().unwrap();
        assert_eq!(locks.len(), 1);
        drop(other);
        assert!(locks.is_empty());
    }

    #[tokio::test]
    async fn a_bounded_or_cancelled_wait_leaves_nothing() {
        let locks = Arc::new(Locks::default());
        let held = locks.lock("c1", LONG).await.unwrap();
        let busy = locks
            .lock("c1", Duration::from_millis(20))
            .await
            .unwrap_err();
        assert_eq!(busy, Busy(Duration::from_millis(20)));
        assert_eq!(
            busy.to_string(),
            "another attach of it held its lock for over 20ms"
        );
        let cancelled = {
            let locks = locks.clone();
            tokio::spawn(async move { locks.lock("c1", LONG).await.map(drop) })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        cancelled.abort();
        let _ = cancelled.await;
        drop(held);
        assert!(locks.is_empty());
    }
}
