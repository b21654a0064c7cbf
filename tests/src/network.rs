//! A Docker network of a test's own on the shared daemon (a local bridge network with a
//! subnet no other network has), removed on drop, and what Docker says of a container on
//! it.

use std::net::Ipv4Addr;

use crate::docker::{docker, docker_ok, unique};

/// A user-defined bridge network `pw-net-<pid>-<n>` on `10.<a>.<b>.0/24`, removed on drop.
pub struct LocalNetwork {
    /// Its name.
    pub name: String,
    /// Its subnet, `10.a.b.0/24`.
    pub subnet: String,
    /// The first three octets, `10.a.b`, to write addresses with.
    pub prefix: String,
}

impl LocalNetwork {
    /// Creates the network, trying subnets from one derived from this process until Docker
    /// takes one (it refuses a pool overlapping another network's); panics after 50 tries.
    pub fn new() -> LocalNetwork {
        let name = unique("net");
        let start = std::process::id() as usize;
        for i in 0..50 {
            let n = (start + i * 37) % (200 * 250);
            let prefix = format!("10.{}.{}", 40 + n / 250, n % 250);
            let subnet = format!("{prefix}.0/24");
            let out = docker(&["network", "create", "--subnet", &subnet, &name]);
            if out.status.success() {
                return LocalNetwork {
                    name,
                    subnet,
                    prefix,
                };
            }
        }
        panic!(
            "docker network create {name}: no free /24 in 10.40.0.0-10.239.255.0 after 50 tries"
        );
    }

    /// Address `.host` of the subnet with its prefix, e.g. `10.41.7.5/24`.
    pub fn cidr(&self, host: u8) -> String {
        format!("{}.{host}/24", self.prefix)
    }

    /// Address `.host` of the subnet, e.g. `10.41.7.5`.
    pub fn addr(&self, host: u8) -> String {
        format!("{}.{host}", self.prefix)
    }

    /// True when `addr` lies in the subnet.
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        addr.to_string().starts_with(&format!("{}.", self.prefix))
    }
}

impl Default for LocalNetwork {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for LocalNetwork {
    fn drop(&mut self) {
        let _ = docker(&["network", "rm", &self.name]);
    }
}

/// What `docker inspect` says of container `name` on network `network`: its address and
/// the address it asks for (`IPAMConfig.IPv4Address`, what Docker keeps across starts);
/// `None` when it has no address there (no endpoint, or a stopped container: Docker 20.10
/// also keeps a failed connect's request, without an address). `run` runs the CLI against
/// the right daemon and returns its stdout.
pub fn endpoint_with(
    run: impl Fn(&[&str]) -> String,
    name: &str,
    network: &str,
) -> Option<(Ipv4Addr, Option<Ipv4Addr>)> {
    let format = format!(
        "{{{{with index .NetworkSettings.Networks \"{network}\"}}}}{{{{.IPAddress}}}}|\
         {{{{if .IPAMConfig}}}}{{{{.IPAMConfig.IPv4Address}}}}{{{{end}}}}{{{{end}}}}"
    );
    let out = run(&["inspect", "--format", &format, name]);
    let (addr, asked) = out.trim().split_once('|')?;
    Some((addr.parse().ok()?, asked.parse().ok()))
}

/// [`endpoint_with`] on the shared daemon.
pub fn endpoint(name: &str, network: &str) -> Option<(Ipv4Addr, Option<Ipv4Addr>)> {
    endpoint_with(docker_ok, name, network)
}
