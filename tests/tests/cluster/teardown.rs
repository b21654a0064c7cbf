//! A cluster whose owner died without tearing it down (a test process killed, a crash) is
//! swept: nothing of it is left, containers included.

use std::process::{Command, Stdio};

use e2e::cluster::{self, Cluster, Options};

#[test]
fn a_dead_owners_cluster_is_swept() {
    if !cluster::prerequisites() {
        return;
    }
    let mut owner = Command::new("sleep")
        .arg("600")
        .stdin(Stdio::null())
        .spawn()
        .expect("cannot start sleep");
    let images = tempfile::tempdir().expect("temporary directory");
    let mut opts = Options::new(1);
    opts.owner = owner.id();
    opts.images = vec![cluster::test_images(images.path()).remove(0)];
    let c = Cluster::up(&opts);
    // Something that holds mounts, a shim and a container cgroup.
    let mut guard = c.containers();
    c.run_sleeper(&mut guard, 1, "swept", &[]);

    // The owner lives: a sweep keeps the cluster.
    cluster::sweep();
    assert_eq!(
        c.docker_ok(1, &["inspect", "--format", "{{.State.Running}}", "swept"]),
        "true",
        "a sweep took down a cluster whose owner lives"
    );

    owner.kill().expect("kill the owner");
    owner.wait().expect("reap the owner");
    let out = cluster::sweep();
    let text = e2e::output_text(&out);
    assert!(text.contains(&format!("sweeping {}", c.id)), "{text}");
    let left = cluster::leftovers(&c.id);
    assert!(left.is_empty(), "left after the sweep: {left:?}\n{text}");
    assert!(!c.dir.exists(), "{} is still there", c.dir.display());
}
