//! Containers whose names contain `-`, `.` and `_` are resolved and attached (the
//! originals missed names with `-` or `.`).

use e2e::adapter::{logs, prerequisites, wait_until, Adapter};
use e2e::docker::unique;

#[test]
fn names_with_dash_dot_and_underscore_are_attached() {
    if !prerequisites() {
        return;
    }
    let mut adapter = Adapter::start(&[]);
    let names = [
        format!("{}.web-1", unique("names")),
        format!("{}_db.2", unique("names")),
    ];
    let app = [
        "sh",
        "-c",
        "echo APP-RAN; ip -4 -o addr show ethwe; exec sleep 300",
    ];
    for (i, name) in names.iter().enumerate() {
        let cidr = format!("WEAVE_CIDR=10.255.1.{}/24", 11 + i);
        let body = adapter.create_body(&[&cidr], &app, "bridge");
        adapter.run(name, &body);
    }
    for (i, name) in names.iter().enumerate() {
        wait_until(30, &format!("{name} to run"), || {
            logs(name).contains("APP-RAN")
        });
        let want = format!("inet 10.255.1.{}/24", 11 + i);
        assert!(logs(name).contains(&want), "{name}: {}", logs(name));
    }
}
