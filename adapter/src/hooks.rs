//! The weave hooks both front-ends run: the I/O around the policy core. On create, the
//! decision of [`crate::policy::create`] with the image inspect it may ask for; on a
//! started container, the attach with the failure rule of a waiting client (kill the
//! container). Each front-end maps what comes out to its own wire.

use std::sync::Arc;
use std::time::Duration;

use crate::attach::attacher::{Attacher, OnFailure};
use crate::bounds;
use crate::docker;
use crate::policy::create::{self, Decision, Plan};

/// The create decision and the attach after start, over one Docker client.
#[derive(Debug)]
pub struct WeaveHooks {
    attacher: Arc<Attacher>,
}

impl WeaveHooks {
    /// Hooks deciding by `attacher`'s policy and attaching with it.
    pub fn new(attacher: Arc<Attacher>) -> WeaveHooks {
        WeaveHooks { attacher }
    }

    /// The attacher (which holds the Docker client and the policy).
    pub fn attacher(&self) -> &Arc<Attacher> {
        &self.attacher
    }

    /// The decision for one `POST /containers/create` body, inspecting the image when the
    /// merge needs it.
    pub async fn create(&self, body: &[u8]) -> Decision {
        let policy = self.attacher.policy();
        match create::plan(body, policy) {
            Plan::Decided(decision) => decision,
            Plan::Inspect(pending) => {
                let found = docker::image_lookup(self.attacher.docker(), pending.image()).await;
                pending.decide(found, policy)
            }
        }
    }

    /// Attaches `container` (id or name) after Docker answered its start or restart with a
    /// 2xx other than 304, killing it when that fails; the caller is held for
    /// [`bounds::Bounds::hold`] at most.
    ///
    /// Errors: the container needed its network and did not get it (it has been killed),
    /// or its attach did not finish within the hold (it goes on in its own task, with the
    /// same failure rule); the text names the container and the cause.
    pub async fn started(&self, container: &str) -> Result<(), String> {
        let hold = bounds::get().hold;
        let attach = self.attacher.attach(container, OnFailure::KillContainer);
        let Err(e) = tokio::time::timeout(hold, attach).await.map_err(|_| {
            format!(
                "container {container} was not given its network within {hold:?}: its attach \
                 goes on, the app starts once it is attached, and the container is killed if \
                 the attach fails"
            )
        })?
        else {
            return Ok(());
        };
        // The start hook and the events follower may both attach a container; when the
        // first one wins and the app is quick, the second finds the process gone. The
        // waiter execs the app only once ethwe is ready, so a container that ended on its
        // own (not SIGKILLed) did get its network.
        if self.ended_on_its_own(container).await {
            tracing::info!("{container} ended on its own during a second attach ({e})");
            return Ok(());
        }
        Err(format!(
            "container {container} was not given its network: {e}"
        ))
    }

    /// True when `container` stops running within 5 s (Docker may still report a process
    /// that just exited as running) and did not die of SIGKILL (exit 137, what a failed
    /// attach does to it).
    async fn ended_on_its_own(&self, container: &str) -> bool {
        for _ in 0..50 {
            let Some((running, exit_code)) =
                docker::run_state(self.attacher.docker(), container).await
            else {
                return false;
            };
            if running == Some(false) {
                return exit_code.is_some_and(|code| code != 137);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }
}
