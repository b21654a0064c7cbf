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
//! On a backend with a segment, an address another container holds there (Docker's view,
//! [`crate::policy::claims`]) is refused before the backend runs; the backend then checks
//! the kernel's view under its lock. A container stopped by a failed attach finds the
//! reason in its log.
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
use super::{bridge, AttachError, Backend, Target};
use crate::bounds;
use crate::docker::{self, Daemon, Fate};
use crate::fault;
use crate::holders;
use crate::panics;
use crate::policy::claims::{self, Held, Holder, Moment, Other};
use crate::policy::identity::ATTACH_LABEL;
use crate::policy::rewrite::RewriteConfig;
use crate::policy::target::ContainerFacts;
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
    /// The last failed attach of each container (when, why, the address held if that was
    /// why, and the pid of the run it failed for): the events follower usually hears of a
    /// start before the client's post-hook does, so when its attach fails and kills the
    /// container, the client's attach finds it stopped, or still dying under the same pid,
    /// and must report that failure rather than "nothing to do" or what a dying container
    /// does to a second try (a Docker network connect then returns without an endpoint).
    /// Cleared by a successful attach.
    failures: Mutex<HashMap<String, Failure>>,
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
            network: backend.network().map(str::to_string),
            segment: backend.segment(),
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

    /// What the daemon says of the backend's Docker network, for the create decision
    /// ([`Backend::lookup_network`]).
    pub async fn lookup_network(&self) -> crate::policy::network::NetworkLookup {
        self.backend.lookup_network().await
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
            if let Some(failure) = self.failures().remove(&facts.id) {
                return Err(AttachError::FailedEarlier {
                    container: facts.name,
                    why: failure.why,
                    held: failure.held,
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
                self.remember_failure(&target, &e, on_failure);
                self.fail(&target, &process, on_failure, &e).await;
                Err(e)
            }
            Locked::FailedBefore(target, process, (why, held)) => {
                let e = AttachError::FailedEarlier {
                    container: target.name.clone(),
                    why,
                    held,
                };
                self.fail(&target, &process, on_failure, &e).await;
                Err(e)
            }
        }
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failure>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that the attach of `target` failed with `e`, forgetting records older than
    /// [`FAILURE_MEMORY`].
    fn remember_failure(&self, target: &Target, e: &AttachError, on_failure: OnFailure) {
        let mut failures = self.failures();
        failures.retain(|_, f| f.when.elapsed() < FAILURE_MEMORY);
        let failure = Failure {
            when: Instant::now(),
            why: e.to_string(),
            held: e.held().cloned().map(Box::new),
            pid: target.pid,
            stopped: on_failure != OnFailure::Nothing,
        };
        failures.insert(target.id.clone(), failure);
    }

    /// The earlier failure of this very run of `target` (same pid) that stopped it, if there
    /// was one: why, and the address held when that was why.
    fn failed_before(&self, target: &Target) -> Option<(String, Option<Box<Held>>)> {
        self.failures()
            .get(&target.id)
            .filter(|f| f.stopped && f.pid == target.pid)
            .map(|f| (f.why.clone(), f.held.clone()))
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
        // This run's attach failed already (and its failure rule was applied): the
        // container is dying; a second try would only report what that does to it.
        if let Some(earlier) = self.failed_before(&target) {
            return Ok(Locked::FailedBefore(target, process, earlier));
        }
        let others = match self.held_elsewhere(&facts, &target).await {
            Ok(others) => others,
            Err(e) => return Ok(Locked::Failed(target, process, e)),
        };
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
                    None => Locked::Failed(target, process, name_holder(e, &others)),
                }
            }
            Race::Stopped(fate) => Locked::Ended(target, fate),
        })
    }

    /// Docker's view of the segment at attach time: an error when another container holds
    /// an address `target` asks for, else the containers seen (to name a holder the
    /// backend finds by its process). Empty without a segment or exact addresses, and for
    /// a container already on the segment's bridge: it holds what it has (an attach again
    /// only completes it), whoever waits.
    async fn held_elsewhere(
        &self,
        facts: &ContainerFacts,
        target: &Target,
    ) -> Result<Vec<Other>, AttachError> {
        let wanted = claims::wanted(facts, &self.policy);
        let Some(segment) = self.policy.segment.as_ref().filter(|_| !wanted.is_empty()) else {
            return Ok(Vec::new());
        };
        if bridge::bridge_of(target.pid).await.ok().flatten() == Some(segment.bridge.clone()) {
            return Ok(Vec::new());
        }
        let waiter = &self.policy.rewrite.waiter;
        let others = holders::others(&self.docker, segment, waiter)
            .await
            .map_err(|source| AttachError::Docker {
                what: format!("cannot list the containers on bridge {}", segment.bridge),
                source,
            })?;
        match claims::held(&wanted, Moment::Attach(facts), &others, segment, waiter) {
            Some(held) => Err(AttachError::AddressHeld {
                target: target.to_string(),
                held: Box::new(held),
            }),
            None => Ok(others),
        }
    }

    /// The failure rules (docs/design.md §5); `process` is the target's first process,
    /// whose log says why it stops.
    async fn fail(
        &self,
        target: &Target,
        process: &Process,
        on_failure: OnFailure,
        e: &AttachError,
    ) {
        if on_failure != OnFailure::Nothing {
            say_in_log(
                target,
                process,
                &format!("powerstrip-weave: stopped before its app ran, not attached: {e}"),
            );
        }
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

/// A failed attach, remembered (see [`Attacher`]'s `failures`).
#[derive(Debug)]
struct Failure {
    when: Instant,
    why: String,
    held: Option<Box<Held>>,
    /// The container's first process when it failed: a later run has another.
    pid: u32,
    /// Its failure rule stopped the container or its process: this run is dying, and a
    /// second try would only report that. A failure that stopped nothing (the start-up
    /// scan's) leaves the next try its chance.
    stopped: bool,
}

/// `e`, with the container holding the address named when the backend found only its
/// process and Docker's view `others` knows it.
fn name_holder(e: AttachError, others: &[Other]) -> AttachError {
    let AttachError::AddressHeld { target, mut held } = e else {
        return e;
    };
    if let Holder::Process(pid) = held.holder {
        if let Some(o) = others.iter().find(|o| o.facts.pid == pid) {
            held.holder = Holder::Container {
                name: o.facts.name.clone(),
                id: o.facts.id.clone(),
                restarting: o.facts.restarting,
            };
        }
    }
    AttachError::AddressHeld { target, held }
}

/// Writes `line` to the stderr of `target`'s first process `process`, the waiter, still
/// blocked: Docker logs it (`docker logs`), and a client attached to the container sees it.
/// Never blocks (a full pipe loses the line); a process already gone has no log to write
/// to, and a later process that got its pid is not written to.
fn say_in_log(target: &Target, process: &Process, line: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    if target.pid == 0 || process.has_ended() {
        return;
    }
    let path = format!("/proc/{}/fd/2", target.pid);
    let opened = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(&path);
    let written = opened.and_then(|mut log| log.write_all(format!("{line}\n").as_bytes()));
    if let Err(e) = written {
        tracing::debug!("cannot write to the log of {target} ({path}): {e}");
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
    /// An attach of this same run failed before, for this reason: the caller applies its
    /// [`OnFailure`] too (a waiting client kills the container, not only its process).
    FailedBefore(Target, Process, (String, Option<Box<Held>>)),
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
