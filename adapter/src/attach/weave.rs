//! The `weave` backend: `weave attach <cidrs...> <container id>` as argv, for hosts that
//! still run Weave Net (no longer maintained; opt in with `--attach weave`).

use futures::future::BoxFuture;

use super::{command::Command, AttachError, Backend, Target};
use crate::policy::Identity;

/// Runs `weave` from PATH with the `command:` argv convention.
#[derive(Debug, Clone)]
pub struct WeaveNet(Command);

impl Default for WeaveNet {
    fn default() -> Self {
        WeaveNet(Command::new("weave".into()))
    }
}

impl Backend for WeaveNet {
    fn name(&self) -> &'static str {
        "weave"
    }

    fn allocates(&self) -> bool {
        true
    }

    fn identity(&self) -> Identity {
        Identity::weave()
    }

    fn attach<'a>(&'a self, target: &'a Target) -> BoxFuture<'a, Result<(), AttachError>> {
        self.0.attach(target)
    }
}
