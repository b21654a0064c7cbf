//! `powerstrip-weave attach CIDR... CONTAINER`: the native attach on its own.

use argh::FromArgs;
use weave_cidr::{self as cidr, WeaveCidr};

use super::flags::subcommand;
use crate::attach::bridge::{Bridge, BridgeConfig};
use crate::attach::{AttachError, Backend, Target};
use crate::docker;
use crate::policy::allocation::exact_addresses;

subcommand! {
    /// Attach ethwe with the given addresses to a running container through the native
    /// bridge backend (idempotent), e.g. `attach 10.255.0.51/24 web-1`.
    #[derive(FromArgs, Debug)]
    #[argh(subcommand, name = "attach")]
    pub struct AttachArgs {
        /// the WEAVE_CIDR items (a.b.c.d/n or ip:a.b.c.d/n), then the container id or name
        #[argh(positional, greedy)]
        pub words: Vec<String>,
    }
    with [bridge]
}

/// Attaches and reports; errors name the container and the failed step.
pub async fn run(args: AttachArgs) -> anyhow::Result<()> {
    let Some((container, cidrs)) = args.words.split_last() else {
        anyhow::bail!("usage: powerstrip-weave attach CIDR... CONTAINER");
    };
    if cidrs.is_empty() {
        anyhow::bail!("{}", missing_address(container));
    }
    let value = cidrs.join(" ");
    let items = match cidr::parse(&value)? {
        WeaveCidr::Attach(items) => items,
        WeaveCidr::None => anyhow::bail!(
            "`none` asks for no attach, so there is nothing to do for {container}: \
             give addresses (e.g. 10.255.0.51/24) instead"
        ),
    };
    // The backend's own refusal advises a proxy flag; here the fix is other addresses.
    if exact_addresses(&items).is_none() {
        anyhow::bail!(
            "WEAVE_CIDR {value:?} asks for an address allocation, which attach does not do: \
             give exact addresses a.b.c.d/n (or ip:a.b.c.d/n), e.g. attach 10.255.0.51/24 \
             {container}; Weave Net's own `weave attach` allocates"
        );
    }
    let docker = docker::from_env()?;
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
        value,
        items,
    };
    let flags = args.bridge_flags();
    let backend = Bridge::new(BridgeConfig {
        bridge: flags.bridge,
        firewall: flags.firewall,
        ..BridgeConfig::default()
    });
    // An attached container keeps its ethwe where it is; adding addresses to it and saying
    // "attached" would hide that it is not on the bridge asked for.
    match backend.attach(&target).await {
        Ok(()) => {}
        Err(AttachError::Elsewhere { bridge, .. }) => anyhow::bail!(
            "{target} is already attached to bridge {bridge}, not {}: nothing changed; \
             give --bridge {bridge} to add addresses there",
            backend.bridge()
        ),
        Err(e) => return Err(e.into()),
    }
    println!("attached {target}");
    Ok(())
}

/// The refusal when only one word is given: it may be the container (addresses forgotten)
/// or an address (container forgotten), so the example names neither as the other.
fn missing_address(word: &str) -> String {
    if matches!(cidr::parse(word), Ok(WeaveCidr::Attach(items)) if !items.is_empty()) {
        format!(
            "{word:?} looks like an address, and the container is missing: \
             give the addresses, then the container, e.g. attach {word} web-1"
        )
    } else {
        format!("give at least one address before the container, e.g. attach 10.255.0.51/24 {word}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_address_is_not_taken_for_a_container() {
        let m = missing_address("10.0.0.1/24");
        assert!(m.contains("container is missing"), "{m}");
        assert!(m.contains("attach 10.0.0.1/24 web-1"), "{m}");
        assert!(!m.contains("/24 10.0.0.1/24"), "{m}");
        let m = missing_address("ip:10.0.0.1/24");
        assert!(m.contains("container is missing"), "{m}");
    }

    #[test]
    fn a_lone_container_gets_an_address_example() {
        let m = missing_address("web-1");
        assert_eq!(
            m,
            "give at least one address before the container, e.g. attach 10.255.0.51/24 web-1"
        );
    }
}
