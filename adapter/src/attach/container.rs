//! Which containers to attach and what to do when attaching fails (DESIGN §5).
//!
//! A container is attached only when it runs, its Entrypoint starts with the waiter and its
//! `WEAVE_CIDR` asks for a network. Attaches of one container are serialised (the
//! post-hook and the `start` event race), and backends are idempotent, so a second attach
//! is a no-op. When an attach fails the app must never run without its network.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bollard::Docker;
use weave_cidr::{self as cidr, WeaveCidr};

use super::{AttachError, Backend, Target};
use crate::docker;

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

/// Why a container was left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// No such container.
    Gone,
    /// Not running (exited already, or created only).
    NotRunning,
    /// Its Entrypoint does not start with the waiter.
    NotWaiting,
    /// No `WEAVE_CIDR` entry, or `none`.
    NoCidr,
    /// `WEAVE_CIDR` is outside the grammar: the waiter refuses to start it with this message.
    InvalidCidr(String),
    /// It lacks the label this adapter is scoped to.
    OtherScope,
}

/// The result of a successful [`Attacher::attach`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The backend attached it (or found it attached).
    Attached(Target),
    /// Nothing to do.
    Skipped(Skip),
}

/// Attaches containers by id or name, with one backend.
#[derive(Debug)]
pub struct Attacher {
    docker: Docker,
    backend: Arc<dyn Backend>,
    waiter: String,
    label: Option<(String, String)>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Attacher {
    /// `waiter` is W (the Entrypoint prefix of waiting containers); `label` (`key=value`)
    /// scopes this adapter to containers carrying it (`None`: every container).
    pub fn new(
        docker: Docker,
        backend: Arc<dyn Backend>,
        waiter: String,
        label: Option<(String, String)>,
    ) -> Self {
        Attacher {
            docker,
            backend,
            waiter,
            label,
            locks: Mutex::new(HashMap::new()),
        }
    }

    /// The Docker client.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// The label scope, `key=value`.
    pub fn label(&self) -> Option<&(String, String)> {
        self.label.as_ref()
    }

    /// Decides whether `facts` is a container to attach (pure).
    pub fn target_of(&self, facts: &docker::ContainerFacts) -> Result<Target, Skip> {
        if let Some((k, v)) = &self.label {
            if facts.labels.get(k) != Some(v) {
                return Err(Skip::OtherScope);
            }
        }
        if !facts.running || facts.pid == 0 {
            return Err(Skip::NotRunning);
        }
        if facts.entrypoint.first() != Some(&self.waiter) {
            return Err(Skip::NotWaiting);
        }
        let value = cidr::find_in_env(facts.env.iter().map(String::as_str)).ok_or(Skip::NoCidr)?;
        match cidr::parse(value) {
            Ok(WeaveCidr::None) => Err(Skip::NoCidr),
            Ok(WeaveCidr::Attach(items)) => Ok(Target {
                id: facts.id.clone(),
                name: facts.name.clone(),
                pid: facts.pid,
                items,
            }),
            Err(e) => Err(Skip::InvalidCidr(e.to_string())),
        }
    }

    /// Resolves `id_or_name` by inspect and attaches it when it asks for it.
    ///
    /// Errors: inspect fails, or the backend fails; in the latter case `on_failure` has
    /// been applied before returning (and its own failure is logged).
    pub async fn attach(
        &self,
        id_or_name: &str,
        on_failure: OnFailure,
    ) -> Result<Outcome, AttachError> {
        let Some(facts) = self.inspect(id_or_name).await? else {
            return Ok(Outcome::Skipped(Skip::Gone));
        };
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            locks.entry(facts.id.clone()).or_default().clone()
        };
        let result = {
            let _guard = lock.lock().await;
            // Judge the container again under the lock: an attach that waited for another
            // one (post-hook and start event race) may find the app already run and gone.
            self.attach_locked(&facts.id).await
        };
        {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            if Arc::strong_count(&lock) == 2 {
                locks.remove(&facts.id);
            }
        }
        match result? {
            Locked::Attached(target) => {
                tracing::info!("attached {target}");
                Ok(Outcome::Attached(target))
            }
            Locked::Skipped(skip) => Ok(Outcome::Skipped(skip)),
            Locked::Failed(target, e) => {
                tracing::error!("attach of {target} failed: {e}");
                self.fail(&target, on_failure).await;
                Err(e)
            }
        }
    }

    /// Inspects `id_or_name`; `Ok(None)` when there is no such container.
    async fn inspect(
        &self,
        id_or_name: &str,
    ) -> Result<Option<docker::ContainerFacts>, AttachError> {
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
        let target = match self.target_of(&facts) {
            Ok(t) => t,
            Err(skip) => return Ok(Locked::Skipped(skip)),
        };
        Ok(match self.backend.attach(&target).await {
            Ok(()) => Locked::Attached(target),
            Err(e) => Locked::Failed(target, e),
        })
    }

    async fn fail(&self, target: &Target, on_failure: OnFailure) {
        match on_failure {
            OnFailure::Nothing => {}
            OnFailure::KillContainer => match docker::kill(&self.docker, &target.id).await {
                Ok(()) => tracing::warn!("killed {target} so it never runs unnetworked"),
                Err(e) => {
                    // The waiter must not exec the app: fall back to the process.
                    tracing::error!("cannot kill {target} through Docker: {e}");
                    kill_process(target);
                }
            },
            OnFailure::KillProcess => kill_process(target),
        }
    }
}

/// What one attach under the container's lock came to.
enum Locked {
    Attached(Target),
    Skipped(Skip),
    /// The backend failed for this target: the caller applies [`OnFailure`].
    Failed(Target, AttachError),
}

/// SIGKILL to the container's first process (the waiter, still blocked on netlink).
fn kill_process(target: &Target) {
    // Never 0 or negative: kill(2) would then signal our own process group.
    let Ok(pid @ 1..) = i32::try_from(target.pid) else {
        return;
    };
    match nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    ) {
        Ok(()) => tracing::warn!("killed the process of {target} so it never runs unnetworked"),
        Err(nix::errno::Errno::ESRCH) => {}
        Err(e) => tracing::error!("cannot kill the process of {target}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attach::command::Command;
    use crate::docker::ContainerFacts;
    use crate::rewrite::DEFAULT_WAITER;
    use weave_cidr::CidrItem;

    fn attacher(label: Option<(&str, &str)>) -> Attacher {
        let docker =
            Docker::connect_with_http("http://127.0.0.1:1", 5, bollard::API_DEFAULT_VERSION)
                .unwrap();
        Attacher::new(
            docker,
            Arc::new(Command::new("/bin/false".into())),
            DEFAULT_WAITER.to_string(),
            label.map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    fn facts(env: &[&str]) -> ContainerFacts {
        ContainerFacts {
            id: "f".repeat(64),
            name: "web-1".into(),
            pid: 42,
            running: true,
            entrypoint: vec![DEFAULT_WAITER.into(), "/app".into()],
            env: env.iter().map(|s| s.to_string()).collect(),
            labels: [("scope".to_string(), "a".to_string())].into(),
        }
    }

    #[test]
    fn waiting_container_with_cidr_is_a_target() {
        let t = attacher(None)
            .target_of(&facts(&["A=1", "WEAVE_CIDR=10.2.1.1/24 net:default"]))
            .unwrap();
        assert_eq!(t.pid, 42);
        assert_eq!(t.name, "web-1");
        assert_eq!(t.items.len(), 2);
        assert_eq!(t.items[1], CidrItem::NetDefault);
        // Empty WEAVE_CIDR asks for a default allocation: still a target.
        let t = attacher(None).target_of(&facts(&["WEAVE_CIDR="])).unwrap();
        assert!(t.items.is_empty());
    }

    #[test]
    fn containers_left_alone() {
        let a = attacher(None);
        assert_eq!(a.target_of(&facts(&[])), Err(Skip::NoCidr));
        assert_eq!(a.target_of(&facts(&["WEAVE_CIDR"])), Err(Skip::NoCidr));
        assert_eq!(a.target_of(&facts(&["WEAVE_CIDR=none"])), Err(Skip::NoCidr));
        let invalid = a.target_of(&facts(&["WEAVE_CIDR=1.2.3.4"])).unwrap_err();
        assert!(matches!(invalid, Skip::InvalidCidr(m) if m.starts_with("invalid WEAVE_CIDR")));

        let mut f = facts(&["WEAVE_CIDR=10.2.1.1/24"]);
        f.entrypoint = vec!["/app".into(), DEFAULT_WAITER.into()];
        assert_eq!(a.target_of(&f), Err(Skip::NotWaiting));
        f.entrypoint.clear();
        assert_eq!(a.target_of(&f), Err(Skip::NotWaiting));

        let mut f = facts(&["WEAVE_CIDR=10.2.1.1/24"]);
        f.running = false;
        assert_eq!(a.target_of(&f), Err(Skip::NotRunning));
        let mut f = facts(&["WEAVE_CIDR=10.2.1.1/24"]);
        f.pid = 0;
        assert_eq!(a.target_of(&f), Err(Skip::NotRunning));
    }

    #[test]
    fn label_scope() {
        let f = facts(&["WEAVE_CIDR=10.2.1.1/24"]);
        assert!(attacher(Some(("scope", "a"))).target_of(&f).is_ok());
        assert_eq!(
            attacher(Some(("scope", "b"))).target_of(&f),
            Err(Skip::OtherScope)
        );
        assert_eq!(
            attacher(Some(("other", "a"))).target_of(&f),
            Err(Skip::OtherScope)
        );
    }

    #[tokio::test]
    async fn unreachable_daemon_is_an_error_naming_the_container() {
        let err = attacher(None)
            .attach("web-1", OnFailure::Nothing)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("cannot inspect container web-1"),
            "{err}"
        );
    }
}
