//! The weave hooks both front-ends run: the I/O around the policy core. On create, the
//! decision of [`crate::policy::create`] with the image inspect it may ask for; on a
//! started container, the attach with the failure rule of a waiting client (kill the
//! container). Each front-end maps what comes out to its own wire.

use std::sync::Arc;

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
    /// [`bounds::Bounds::hold`] at most. A container that stops or is removed meanwhile
    /// ends the wait at once: the client then learns its fate from Docker (the CLI's
    /// `wait` gives its exit status), as it would without us.
    ///
    /// Errors: the container needed its network and did not get it (it has been killed),
    /// or its attach did not finish within the hold (it goes on in its own task, with the
    /// same failure rule); the text names the container and the cause.
    pub async fn started(&self, container: &str) -> Result<(), String> {
        let hold = bounds::get().hold;
        let attach = self.attacher.attach(container, OnFailure::KillContainer);
        match tokio::time::timeout(hold, attach).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!(
                "container {container} was not given its network: {e}"
            )),
            Err(_) => Err(format!(
                "container {container} was not given its network within {hold:?}: its attach \
                 goes on, the app starts once it is attached, and the container is killed if \
                 the attach fails"
            )),
        }
    }
}
