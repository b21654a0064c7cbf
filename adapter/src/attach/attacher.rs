//! Attaching containers by id or name (docs/design.md §5): resolve by inspect, ask the
//! policy core whether to attach ([`crate::policy::target`]), run the backend, and when it
//! fails apply the failure rule of the caller ([`OnFailure`]): the app must never run
//! without its network.
//!
//! A container that stops, or is removed, while it is being attached ends the attach at
//! once: its end is watched alongside the backend (Docker's `wait`), the backend's work is
//! dropped (an external command is killed), nothing is killed, and it is logged at debug
//! level; a backend failure caused by the container ending is judged the same way.
//!
//! Attaches of one container are serialised ([`Locks`]: the post-hook and the `start`
//! event race), and backends are idempotent, so a second attach is a no-op. Each attach
//! runs in a task of its own: a client hanging up cannot cut it (or its kill) short, a
//! panic in it is contained and counts as a failed attach, and a stopping process lets it
//! finish ([`Attacher::drain`]).
//!
//! The container's first process is held ([`Process`]) from the inspect that found it:
//! whether it ended is judged on that very process (the waiter execs the app only once
//! `ethwe` is ready, so an ended first process never ran the app without its network), and
//! a kill reaches that process or none.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::inflight::InFlight;
use super::locks::Locks;
use super::process::Process;
use super::{AttachError, Backend, Target};
use crate::bounds;
use crate::docker::{self, Daemon, Fate};
use crate::fault;
use crate::panics;
use crate::policy::identity::ATTACH_LABEL;
use crate::policy::rewrite::RewriteConfig;
use crate::policy::target::{target_of, Skip};
use crate::policy::{Policy, Scope};

/// What to do when an attach fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// A client waits (post-hook, proxy): kill the container and report the error.
    KillContainer,
    /// The daemon restarted it (restart policy): kill only the process, so Docker counts a
    /// failed run and the restart policy retries.
    KillProcess,
    /// Start-up scan: log only; the container keeps waiting and is retried.
    Nothing,
}

/// The result of a successful [`Attacher::attach`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The backend attached it (or found it attached).
    Attached(Target),
    /// Nothing to do.
    Skipped(Skip),
    /// It stopped or was removed before its attach completed: the attach was abandoned.
    Ended(Target, docker::Fate),
    /// Its `ethwe` is on another bridge; left as it is (the text says where).
    Elsewhere(Target, String),
}

/// How long a backend failure is given to show itself as the first process ending: the
/// process releases its namespaces a moment before it is reported ended.
const ENDING: Duration = Duration::from_millis(200);

/// How long a failed attach is remembered for a client's attach of the same container.
const FAILURE_MEMORY: Duration = Duration::from_secs(600);

/// Attaches containers by id or name, with one backend and one policy.
#[derive(Debug)]
pub struct Attacher {
    docker: Daemon,
    backend: Arc<dyn Backend>,
    policy: Policy,
    locks: Locks,
    inflight: Arc<InFlight>,
    /// The last failed attach of each container (when, and why): the events follower
    /// usually hears of a start before the client's post-hook does, so when its attach
    /// fails and kills the container, the client's attach finds it stopped and must
    /// report that failure rather than "nothing to do". Cleared by a successful attach.
    failures: Mutex<HashMap<String, (Instant, String)>>,
}

impl Attacher {
    /// An attacher of the containers `rewrite` made wait (W) in `scope`, attaching them with
    /// `backend`; its [`Policy`] says what the backend can do.
    pub fn new(
        docker: Daemon,
        backend: Arc<dyn Backend>,
        rewrite: RewriteConfig,
        scope: Scope,
    ) -> Self {
        let policy = Policy {
            rewrite,
            scope,
            allocates: backend.allocates(),
            backend: backend.name(),
            identity: backend.identity(),
        };
        Attacher {
            docker,
            backend,
            policy,
            locks: Locks::default(),
            inflight: Arc::default(),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The Docker client.
    pub fn docker(&self) -> &Daemon {
        &self.docker
    }

    /// Waits until the attaches under way have finished, at most `bound`; returns the
    /// containers whose attach had not (they keep waiting for their network, and the next
    /// start of a follower attaches them).
    pub async fn drain(&self, bound: Duration) -> Vec<String> {
        self.inflight.drain(bound).await
    }

    /// The policy containers are judged by.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Resolves `id_or_name` by inspect and attaches it when it asks for it, in a task of
    /// its own.
    ///
    /// Errors: inspect fails, the backend fails, or the task panics; in the latter two cases
    /// `on_failure` has been applied before returning (and its own failure is logged).
    pub async fn attach(
        self: &Arc<Self>,
        id_or_name: &str,
        on_failure: OnFailure,
    ) -> Result<Outcome, AttachError> {
        let (this, name) = (self.clone(), id_or_name.to_string());
        let ticket = self.inflight.start(id_or_name);
        let task = tokio::spawn(async move {
            let _ticket = ticket;
            this.attach_in_task(&name, on_failure).await
        });
        match task.await {
            Ok(result) => result,
            Err(e) => {
                let why = panics::join_error(e);
                if on_failure == OnFailure::KillContainer {
                    self.kill_container(id_or_name, id_or_name).await;
                }
                Err(AttachError::Panicked {
                    container: id_or_name.to_string(),
                    why,
                })
            }
        }
    }

    async fn attach_in_task(
        &self,
        id_or_name: &str,
        on_failure: OnFailure,
    ) -> Result<Outcome, AttachError> {
        fault::inject(fault::Point::Attach, id_or_name);
        let Some(facts) = self.inspect(id_or_name).await? else {
            return Ok(Outcome::Skipped(Skip::Gone));
        };
        let result = {
            let _held = match self.locks.lock(&facts.id, bounds::get().lock).await {
                Ok(held) => held,
                Err(busy) => {
                    // The holder applies the failure rule of its own outcome.
                    tracing::warn!(
                        "attach of container {} left to the one under way: {busy}",
                        facts.name
                    );
                    return Err(AttachError::Busy {
                        container: facts.name,
                        source: busy,
                    });
                }
            };
            // Judge the container again under the lock: an attach that waited for another
            // one (post-hook and start event race) may find the app already run and gone.
            self.attach_locked(&facts.id).await
        };
        let result = result?;
        // A client waits, and the container is gone: when an earlier attach of it failed
        // (and the failure rule stopped it), that failure is the answer, not "nothing to do".
        let ended = matches!(
            result,
            Locked::Skipped(Skip::NotRunning | Skip::Gone) | Locked::Ended(..)
        );
        if ended && on_failure == OnFailure::KillContainer {
            if let Some((_, why)) = self.failures().remove(&facts.id) {
                return Err(AttachError::FailedEarlier {
                    container: facts.name,
                    why,
                });
            }
        }
        match result {
            Locked::Attached(target) => {
                tracing::info!("attached {target}");
                self.failures().remove(&target.id);
                Ok(Outcome::Attached(target))
            }
            Locked::Skipped(skip) => {
                tracing::debug!("left container {id_or_name} alone: {skip}");
                Ok(Outcome::Skipped(skip))
            }
            Locked::Ended(target, fate) => {
                tracing::debug!("{target} {fate} during its attach: attach abandoned");
                Ok(Outcome::Ended(target, fate))
            }
            Locked::Elsewhere(target, e) => {
                tracing::warn!(
                    "{e} (the app runs). Followers with different settings both attach a \
                     container only when it carries no {ATTACH_LABEL} label (one created by \
                     an older version, or run without the proxy): run one follower, or give \
                     each its own --label"
                );
                Ok(Outcome::Elsewhere(target, e.to_string()))
            }
            Locked::Failed(target, process, e) => {
                tracing::error!("attach of {target} failed: {e}");
                self.remember_failure(&target.id, e.to_string());
                self.fail(&target, &process, on_failure).await;
                Err(e)
            }
        }
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, String)>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that the attach of container `id` failed with `why`, forgetting records
    /// older than [`FAILURE_MEMORY`].
    fn remember_failure(&self, id: &str, why: String) {
        let mut failures = self.failures();
        failures.retain(|_, (when, _)| when.elapsed() < FAILURE_MEMORY);
        failures.insert(id.to_string(), (Instant::now(), why));
    }

    /// Inspects `id_or_name`; `Ok(None)` when there is no such container.
    async fn inspect(
        &self,
        id_or_name: &str,
    ) -> Result<Option<crate::policy::target::ContainerFacts>, AttachError> {
        docker::container_facts(&self.docker, id_or_name)
            .await
            .map_err(|source| AttachError::Docker {
                what: format!("cannot inspect container {id_or_name}"),
                source,
            })
    }

    /// Inspect, decide and attach while holding the container's lock.
    async fn attach_locked(&self, id: &str) -> Result<Locked, AttachError> {
        let Some(facts) = self.inspect(id).await? else {
            return Ok(Locked::Skipped(Skip::Gone));
        };
        let target = match target_of(&facts, &self.policy) {
            Ok(t) => t,
            Err(skip) => return Ok(Locked::Skipped(skip)),
        };
        // Held from here: Docker may still report a process that just exited as running.
        let process = Process::open(target.pid);
        if process.has_ended() {
            return Ok(Locked::Ended(target, Fate::ProcessGone));
        }
        // The container's end is watched alongside the backend: a container stopped during
        // a slow attach frees its waiting client at once, and is not called attached.
        let race = tokio::select! {
            biased;
            result = self.backend.attach(&target) => Race::Done(result),
            fate = docker::stopped(&self.docker, &target.id) => Race::Stopped(fate),
        };
        Ok(match race {
            Race::Done(Ok(())) => Locked::Attached(target),
            Race::Done(Err(e @ AttachError::Elsewhere { .. })) => Locked::Elsewhere(target, e),
            Race::Done(Err(e)) => {
                let gone = process.ends_within(ENDING).await;
                match docker::ended(&self.docker, &target.id, target.pid, gone).await {
                    // The failure is the container ending (its namespace gone, its veth
                    // with it).
                    Some(fate) => Locked::Ended(target, fate),
                    None => Locked::Failed(target, process, e),
                }
            }
            Race::Stopped(fate) => Locked::Ended(target, fate),
        })
    }

    /// The failure rules (docs/design.md §5); `process` is the target's first process.
    async fn fail(&self, target: &Target, process: &Process, on_failure: OnFailure) {
        match on_failure {
            OnFailure::Nothing => {}
            OnFailure::KillContainer => {
                if !self.kill_container(&target.id, &target.to_string()).await {
                    // The waiter must not exec the app: fall back to the process.
                    kill_process(target, process);
                }
            }
            OnFailure::KillProcess => kill_process(target, process),
        }
    }

    /// SIGKILL to container `id` through Docker; `what` names it in logs. Returns whether
    /// the container is not running now.
    async fn kill_container(&self, id: &str, what: &str) -> bool {
        match docker::kill(&self.docker, id).await {
            Ok(docker::Killed::Killed) => {
                tracing::warn!("killed {what} so it never runs unnetworked");
                true
            }
            Ok(docker::Killed::NotRunning) => {
                tracing::debug!("{what} had stopped already: nothing to kill");
                true
            }
            Err(e) => {
                tracing::error!("cannot kill {what} through Docker: {e}");
                false
            }
        }
    }
}

/// What one attach under the container's lock came to.
enum Locked {
    Attached(Target),
    Skipped(Skip),
    /// The container stopped during the attach, or the backend failed because it had.
    Ended(Target, docker::Fate),
    /// Its `ethwe` is another bridge's: no failure rule applies.
    Elsewhere(Target, AttachError),
    /// The backend failed for this target, whose first process is still there: the
    /// caller applies [`OnFailure`].
    Failed(Target, Process, AttachError),
}

/// The backend's attach, or the container's end, whichever comes first.
enum Race {
    Done(Result<(), AttachError>),
    Stopped(docker::Fate),
}

/// SIGKILL to the container's first process (the waiter, still blocked on netlink), held
/// since the inspect: never to a later process that got its pid.
fn kill_process(target: &Target, process: &Process) {
    match process.kill() {
        Ok(true) => tracing::warn!("killed the process of {target} so it never runs unnetworked"),
        Ok(false) => tracing::debug!("the process of {target} had ended already: nothing to kill"),
        Err(e) => tracing::error!("cannot kill the process of {target}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::Addr;
    use crate::attach::command::Command;

    #[tokio::test]
    async fn unreachable_daemon_is_an_error_naming_the_container() {
        let docker = docker::client(&Addr::Tcp {
            host: "127.0.0.1".into(),
            port: 1,
        })
        .unwrap();
        let attacher = Arc::new(Attacher::new(
            docker,
            Arc::new(Command::new("/bin/false".into())),
            RewriteConfig::default(),
            Scope::default(),
        ));
        let err = attacher
            .attach("web-1", OnFailure::Nothing)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("cannot inspect container web-1"),
            "{err}"
        );
    }
}
