//! Records real rtnetlink datagrams from the kernel as seeds for the `netlink` target: the
//! waiter's two dumps (links with sequence number 1, addresses with 2, as `Dumps` numbers
//! them), every link and address notification while COMMAND runs, then both dumps again.
//! One file per datagram in OUT_DIR, named by order and by the messages it holds.
//!
//! usage: netlink_capture OUT_DIR COMMAND [ARG...]   (as root, in a network namespace of its
//! own: `make fuzz-capture-netlink` runs it so)

use std::fs;
use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use netlink_sys::{protocols::NETLINK_ROUTE, Socket};
use nix::libc;
use waiter::wire::{self, Body};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, command @ ..] = args.as_slice() else {
        eprintln!("usage: netlink_capture OUT_DIR COMMAND [ARG...]");
        std::process::exit(2);
    };
    assert!(
        !command.is_empty(),
        "usage: netlink_capture OUT_DIR COMMAND [ARG...]"
    );
    let mut socket = Socket::new(NETLINK_ROUTE).expect("a route socket");
    socket.bind_auto().expect("bind");
    for group in [
        libc::RTNLGRP_LINK,
        libc::RTNLGRP_IPV4_IFADDR,
        libc::RTNLGRP_IPV6_IFADDR,
    ] {
        socket.add_membership(group).expect("join a group");
    }
    socket.set_non_blocking(true).expect("non-blocking");
    let mut saved = Vec::new();
    dumps(&mut socket, &mut saved);
    let status = Command::new(&command[0])
        .args(&command[1..])
        .status()
        .expect("COMMAND runs");
    assert!(status.success(), "COMMAND failed: {status}");
    read_until_quiet(&mut socket, &mut saved, Duration::from_millis(500));
    dumps(&mut socket, &mut saved);
    fs::create_dir_all(out).expect("OUT_DIR");
    for (i, datagram) in saved.iter().enumerate() {
        let path = Path::new(out).join(format!("{:02}-{}", i + 1, describe(datagram)));
        fs::write(&path, datagram).expect("write a seed");
        println!("{} ({} bytes)", path.display(), datagram.len());
    }
}

/// The link dump (sequence number 1), then the address dump (2), each read to its DONE.
fn dumps(socket: &mut Socket, saved: &mut Vec<Vec<u8>>) {
    for (seq, request) in [
        (1, wire::link_dump_request(1).to_vec()),
        (2, wire::addr_dump_request(2).to_vec()),
    ] {
        socket.send(&request, 0).expect("send a dump request");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            assert!(Instant::now() < deadline, "no NLMSG_DONE for dump {seq}");
            let Some(datagram) = recv(socket) else {
                sleep(Duration::from_millis(10));
                continue;
            };
            let done = wire::messages(&datagram)
                .any(|m| matches!(m, Ok(m) if m.seq == seq && matches!(m.body, Body::Done { .. })));
            saved.push(datagram);
            if done {
                break;
            }
        }
    }
}

fn read_until_quiet(socket: &mut Socket, saved: &mut Vec<Vec<u8>>, quiet: Duration) {
    let mut last = Instant::now();
    while last.elapsed() < quiet {
        match recv(socket) {
            Some(datagram) => {
                saved.push(datagram);
                last = Instant::now();
            }
            None => sleep(Duration::from_millis(10)),
        }
    }
}

fn recv(socket: &mut Socket) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 32 * 1024];
    let mut slice = &mut buf[..];
    match socket.recv(&mut slice, 0) {
        Ok(len) => {
            buf.truncate(len);
            Some(buf)
        }
        Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => None,
        Err(e) => panic!("receive: {e}"),
    }
}

/// `newlink-ethwe`, `dump-3-messages`, …: what a reader of the corpus wants to know.
fn describe(datagram: &[u8]) -> String {
    let messages: Vec<Body> = wire::messages(datagram)
        .map(|m| m.expect("the kernel's datagrams parse").body)
        .collect();
    match messages.as_slice() {
        [Body::Link(waiter::readiness::LinkEvent::New { name, .. })] => format!(
            "newlink-{}",
            String::from_utf8_lossy(name.as_deref().unwrap_or(b"noname"))
        ),
        [Body::Link(_)] => "dellink".into(),
        [Body::Addr(waiter::readiness::AddrEvent::New { addr, .. })] => {
            format!("newaddr-{}", addr.to_string().replace(['/', ':'], "_"))
        }
        [Body::Addr(waiter::readiness::AddrEvent::Del { addr, .. })] => {
            format!("deladdr-{}", addr.to_string().replace(['/', ':'], "_"))
        }
        [Body::Done { .. }] => "done".into(),
        other => format!("dump-{}-messages", other.len()),
    }
}
