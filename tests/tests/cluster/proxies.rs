//! One `powerstrip-weave proxy --attach network:<overlay>` per simulated host, as a user
//! runs them (docs/cluster.md): each serves the vanilla CLI for its host's dockerd, follows
//! its events, and is scoped to a label of the scenario's own. Killed on drop.

use std::net::Ipv4Addr;
use std::process::Output;

use e2e::cluster::{Cluster, Containers};
use e2e::docker::unique;
use e2e::network::endpoint_with;
use e2e::proxy::{Proxy, TempDir};

/// The proxies of a scenario, host 1 first.
pub struct Proxies<'a> {
    pub cluster: &'a Cluster,
    /// `key=value` every container of the scenario carries.
    pub label: String,
    proxies: Vec<Proxy>,
    _dir: TempDir,
}

impl<'a> Proxies<'a> {
    /// Starts one proxy per host of `c`.
    pub fn start(c: &'a Cluster) -> Proxies<'a> {
        let dir = TempDir::new("cluster-proxies");
        let label = format!("pw-cluster-test={}", unique("scope"));
        let network = format!("network:{}", c.network);
        let proxies = c
            .hosts
            .iter()
            .map(|h| {
                let sock = dir.join(&format!("h{}.sock", h.index));
                let listen = format!("unix://{}", sock.display());
                let args = [
                    "--listen",
                    &listen,
                    "--docker",
                    &h.docker_host,
                    "--attach",
                    &network,
                    "--volume-container",
                    "weavewait",
                    "--image",
                    "weavewait:latest",
                    "--label",
                    &label,
                ];
                Proxy::start_with(&listen, &args, move |_| {
                    std::os::unix::net::UnixStream::connect(&sock).is_ok()
                })
            })
            .collect();
        Proxies {
            cluster: c,
            label,
            proxies,
            _dir: dir,
        }
    }

    /// The proxy of host `n`.
    pub fn on(&self, n: usize) -> &Proxy {
        &self.proxies[n - 1]
    }

    /// `docker run -d` through host `n`'s proxy: container `name`, labelled, with
    /// `WEAVE_CIDR=cidr`, `extra` options, then `image_and_args`. The caller registers
    /// `name` for removal.
    pub fn run(
        &self,
        n: usize,
        name: &str,
        cidr: &str,
        extra: &[&str],
        image_and_args: &[&str],
    ) -> Output {
        let env = format!("WEAVE_CIDR={cidr}");
        let mut args = vec![
            "run",
            "-d",
            "--name",
            name,
            "--stop-timeout",
            "1",
            "--label",
            &self.label,
            "-e",
            &env,
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(image_and_args);
        self.on(n).docker(&args)
    }

    /// Like [`Proxies::run`] with `name` registered in `guard`, and panics (with the
    /// proxy's log) unless it worked.
    pub fn run_ok(
        &self,
        guard: &mut Containers,
        n: usize,
        name: &str,
        cidr: &str,
        extra: &[&str],
        image_and_args: &[&str],
    ) {
        guard.add(n, name);
        let out = self.run(n, name, cidr, extra, image_and_args);
        let args = ["run", name, cidr];
        self.on(n).check(&args, &out);
    }

    /// Container `name` of host `n` on the overlay: its address and the one Docker asks
    /// for at each start (`IPAMConfig`).
    pub fn endpoint(&self, n: usize, name: &str) -> Option<(Ipv4Addr, Option<Ipv4Addr>)> {
        endpoint_with(
            |a| self.cluster.docker_ok(n, a),
            name,
            &self.cluster.network,
        )
    }

    /// The lines of host `n`'s proxy log about connecting container `name`.
    pub fn connects(&self, n: usize, name: &str) -> Vec<String> {
        let id = self
            .cluster
            .docker_ok(n, &["inspect", "--format", "{{.Id}}", name]);
        self.on(n)
            .log_text()
            .lines()
            .filter(|l| l.contains("connected container") && l.contains(&id[..12]))
            .map(str::to_string)
            .collect()
    }
}
