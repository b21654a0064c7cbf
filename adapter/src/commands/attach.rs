//! `powerstrip-weave attach CIDR... CONTAINER`: the native attach on its own.

use argh::FromArgs;
use waiter::cidr::{self, WeaveCidr};

use crate::attach::bridge::{Bridge, BridgeConfig};
use crate::attach::{Backend, Target};
use crate::docker;

/// Attach ethwe with the given addresses to a running container through the native bridge
/// backend (idempotent), e.g. `attach 10.255.0.51/24 web-1`.
#[derive(FromArgs, Debug)]
#[argh(subcommand, name = "attach")]
pub struct AttachArgs {
    /// the Linux bridge to plug into (default weave; created if missing)
    #[argh(option, default = "String::from(\"weave\")")]
    pub bridge: String,
    /// do not add the iptables FORWARD rule when creating the bridge
    #[argh(switch)]
    pub no_firewall: bool,
    /// the WEAVE_CIDR items (a.b.c.d/n or ip:a.b.c.d/n), then the container id or name
    #[argh(positional, greedy)]
    pub words: Vec<String>,
}

/// Attaches and reports; errors name the container and the failed step.
pub async fn run(args: AttachArgs) -> anyhow::Result<()> {
    let Some((container, cidrs)) = args.words.split_last() else {
        anyhow::bail!("usage: powerstrip-weave attach CIDR... CONTAINER");
    };
    if cidrs.is_empty() {
        anyhow::bail!("give at least one address before the container, e.g. attach 10.255.0.51/24 {container}");
    }
    let items = match cidr::parse(&cidrs.join(" "))? {
        WeaveCidr::Attach(items) => items,
        WeaveCidr::None => anyhow::bail!("`none` asks for no attach: nothing to do"),
    };
    let docker = docker::connect()?;
    let facts = docker::container_facts(&docker, container)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no such container: {container}"))?;
    if !facts.running || facts.pid == 0 {
        anyhow::bail!("container {container} is not running");
    }
    let target = Target {
        id: facts.id,
        name: facts.name,
        pid: facts.pid,
        items,
    };
    let backend = Bridge::new(BridgeConfig {
        bridge: args.bridge,
        firewall: !args.no_firewall,
        ..BridgeConfig::default()
    });
    backend.attach(&target).await?;
    println!("attached {target}");
    Ok(())
}
