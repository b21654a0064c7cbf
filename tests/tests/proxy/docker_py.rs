//! The Docker SDK for Python (Debian's `python3-docker`) through the proxy: a container
//! run with WEAVE_CIDR, on the default bridge and on a network the SDK creates, has its
//! address before its app runs, and the SDK reads its output.

use std::process::Command;

use e2e::docker::CALL_TIMEOUT_SECS;
use e2e::prereq;
use e2e::proxy::{stderr, stdout};

use crate::weave::{assert_attached, Weave};

/// Debian's interpreter, which sees Debian's python3-docker.
const PYTHON: &str = "/usr/bin/python3";

/// Runs the example image twice (`containers.run`, which creates, starts, waits, reads the
/// logs and removes): on the default bridge, then on a user-defined network. Prints both
/// outputs, separated by a line `--`.
const SCRIPT: &str = r#"
import sys, docker
host, image, key, value, net = sys.argv[1:6]
client = docker.DockerClient(base_url=host, timeout=60)
labels = {key: value}
out = client.containers.run(image, environment={"WEAVE_CIDR": "10.255.23.21/24"},
                            labels=labels, remove=True)
network = client.networks.create(net)
try:
    out2 = client.containers.run(image, environment=["WEAVE_CIDR=10.255.23.22/24"],
                                 labels=labels, network=net, remove=True)
finally:
    network.remove()
sys.stdout.write(out.decode() + "--\n" + out2.decode())
"#;

#[test]
fn the_python_sdk_runs_a_container_and_reads_its_output() {
    let Some(w) = Weave::setup() else { return };
    let sdk = prereq::command_works(PYTHON, &["-c", "import docker"]);
    if !prereq::require(
        sdk,
        "the Docker SDK for Python (Debian: apt-get install python3-docker)",
    ) {
        return;
    }
    let scope = e2e::docker::unique("py");
    let p = w.proxy(&["--label", &format!("pw.test={scope}")]);
    let net = e2e::docker::unique("pynet");
    let out = Command::new("timeout")
        .args([
            "-k",
            "5",
            &CALL_TIMEOUT_SECS.to_string(),
            PYTHON,
            "-c",
            SCRIPT,
        ])
        .args([&p.host, &w.example, "pw.test", &scope, &net])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed ({}):\n{}\nproxy log: {}",
        out.status,
        stderr(&out),
        p.log_text()
    );
    let text = stdout(&out);
    let (default, user) = text.split_once("--\n").expect("two outputs");
    assert_attached(default, "10.255.23.21/24");
    assert_attached(user, "10.255.23.22/24");
}
