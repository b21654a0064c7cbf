//! `powerstrip-weave adapter`: serve the powerstrip adapter protocol v1.

use std::net::SocketAddr;

use argh::FromArgs;

use super::serve::{self, ServeOptions, WeaveSettings};
use crate::attach::BackendSpec;
use crate::rewrite::{DEFAULT_VOLUME_CONTAINER, DEFAULT_WAITER};

/// Serve the powerstrip adapter (protocol v1, POST on any path): rewrite creates so the
/// waiter runs first, attach ethwe on start and on Docker start events.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "adapter")]
pub struct AdapterArgs {
    /// address to listen on (default 127.0.0.1:8080)
    #[argh(option, default = "SocketAddr::from(([127, 0, 0, 1], 8080))")]
    pub listen: SocketAddr,
    /// attach backend: bridge (default, native), weave, or command:<path>
    #[argh(option, default = "BackendSpec::Bridge")]
    pub attach: BackendSpec,
    /// the Linux bridge of the bridge backend (default weave)
    #[argh(option, default = "String::from(\"weave\")")]
    pub bridge: String,
    /// do not add the iptables FORWARD rule when creating the bridge
    #[argh(switch)]
    pub no_firewall: bool,
    /// path of the waiter in containers (default /home/weavewait/wait-for-weave)
    #[argh(option, default = "DEFAULT_WAITER.to_string()")]
    pub waiter: String,
    /// volume container carrying the waiter (default weavewait)
    #[argh(option, default = "DEFAULT_VOLUME_CONTAINER.to_string()")]
    pub volume_container: String,
    /// only attach containers carrying this key=value label
    #[argh(option, from_str_fn(label))]
    pub label: Option<(String, String)>,
    /// do not follow Docker events nor attach waiting containers at start-up
    #[argh(switch)]
    pub no_events: bool,
}

fn label(s: &str) -> Result<(String, String), String> {
    serve::parse_label(s)
}

impl AdapterArgs {
    /// The options these arguments describe.
    pub fn options(&self) -> anyhow::Result<ServeOptions> {
        Ok(ServeOptions {
            listen: self.listen,
            weave: WeaveSettings::new(
                self.attach.clone(),
                self.bridge.clone(),
                !self.no_firewall,
                self.waiter.clone(),
                self.volume_container.clone(),
                self.label.clone(),
                !self.no_events,
            )?,
        })
    }
}

/// Runs the adapter until SIGINT/SIGTERM.
pub async fn run(args: AdapterArgs) -> anyhow::Result<()> {
    serve::run(args.options()?).await
}
