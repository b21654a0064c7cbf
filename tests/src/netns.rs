//! Network namespaces, veth attach as Weave does it, bounded process waits and a raw
//! rtnetlink client for the waiter's end-to-end tests.
//!
//! Everything made here has a unique name (`pw…-<pid>-<n>`) and is removed on drop, also
//! when a test panics. Only namespaces and veths created here are touched.

use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLMSG_ERROR, NLM_F_ACK,
    NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkFlags, LinkMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket};

/// Upper bound for one `ip`/`nsenter` call, in seconds.
pub const CALL_TIMEOUT_SECS: u32 = 30;

/// A short name unique to this test process and call: `<prefix><pid>x<n>`, at most 15
/// bytes so that it is also a valid interface name for prefixes up to 3 bytes.
pub fn short_unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "{prefix}{}x{}",
        std::process::id() % 1_000_000,
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    assert!(name.len() <= 15, "{name} is too long for an interface name");
    name
}

/// Runs `program args…` under `timeout`, stdin closed; returns its output whatever the
/// status.
pub fn run(program: &str, args: &[&str]) -> Output {
    Command::new("timeout")
        .args(["-k", "5", &CALL_TIMEOUT_SECS.to_string(), program])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `timeout {program}`: {e}"))
}

/// Runs `program args…` and panics with its stderr when it fails.
pub fn run_ok(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Makes `command` start with every signal disposition at default and nothing blocked, as
/// runc starts a container. The test harness inherits ignored glibc-internal signals (32, 33)
/// from cargo's `posix_spawn`, ignored dispositions survive exec, and glibc's `sigaction`
/// refuses to touch those two; so the child resets all of them with the raw syscall.
pub fn clean_spawn(command: &mut Command) -> &mut Command {
    // SAFETY: the hook only makes async-signal-safe syscalls on its own stack data.
    unsafe {
        command.pre_exec(|| {
            #[repr(C)]
            struct KernelSigaction {
                handler: usize,
                flags: u64,
                restorer: usize,
                mask: u64,
            }
            let default = KernelSigaction {
                handler: 0, // SIG_DFL
                flags: 0,
                restorer: 0,
                mask: 0,
            };
            for signo in 1..=64 {
                if signo == nix::libc::SIGKILL || signo == nix::libc::SIGSTOP {
                    continue;
                }
                nix::libc::syscall(
                    nix::libc::SYS_rt_sigaction,
                    signo,
                    &default as *const KernelSigaction,
                    std::ptr::null_mut::<KernelSigaction>(),
                    8usize,
                );
            }
            Ok(())
        })
    }
}

/// Where a network namespace is: a named one (`ip netns`) or a process's (a container).
#[derive(Debug, Clone)]
pub enum Target {
    /// `/run/netns/<name>`.
    Named(String),
    /// `/proc/<pid>/ns/net`.
    Pid(u32),
}

impl Target {
    /// The word `ip link set … netns` takes: the name or the pid.
    fn netns_word(&self) -> String {
        match self {
            Target::Named(n) => n.clone(),
            Target::Pid(p) => p.to_string(),
        }
    }

    /// Path of the namespace file, for `setns`.
    pub fn path(&self) -> String {
        match self {
            Target::Named(n) => format!("/run/netns/{n}"),
            Target::Pid(p) => format!("/proc/{p}/ns/net"),
        }
    }

    /// Runs `ip args…` inside the namespace; panics when it fails.
    pub fn ip(&self, args: &[&str]) -> String {
        match self {
            Target::Named(n) => {
                let mut all = vec!["-n", n.as_str()];
                all.extend_from_slice(args);
                run_ok("ip", &all)
            }
            Target::Pid(p) => {
                let pid = p.to_string();
                let mut all = vec!["-t", pid.as_str(), "-n", "ip"];
                all.extend_from_slice(args);
                run_ok("nsenter", &all)
            }
        }
    }

    /// The ifindex of link `name` inside the namespace.
    pub fn ifindex(&self, name: &str) -> u32 {
        let line = self.ip(&["-o", "link", "show", "dev", name]);
        line.split(':')
            .next()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no ifindex in {line:?}"))
    }
}

/// A named network namespace (`ip netns add`), deleted on drop. It holds only `lo`
/// (down) until a test adds something.
pub struct NetNs {
    name: String,
}

impl NetNs {
    /// Creates `pwn<pid>x<n>`.
    pub fn new() -> NetNs {
        let name = short_unique("pwn");
        run_ok("ip", &["netns", "add", &name]);
        NetNs { name }
    }

    /// The namespace name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace as an attach target.
    pub fn target(&self) -> Target {
        Target::Named(self.name.clone())
    }

    /// `ip -n NAME args…`; panics when it fails.
    pub fn ip(&self, args: &[&str]) -> String {
        self.target().ip(args)
    }

    /// A command running `program` inside the namespace (`ip netns exec` execs it, so the
    /// child's pid is `program`'s), started with a clean signal state (see [`clean_spawn`]).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        clean_spawn(&mut c);
        c
    }
}

impl Default for NetNs {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = run("ip", &["netns", "del", &self.name]);
    }
}

/// A veth pair attached into a namespace step by step, as Weave's `attach` does: created
/// in this namespace under temporary names, the guest end moved into the target, renamed
/// (`ethwe`), addressed, set up last. The host end is deleted on drop (the pair with it).
pub struct Attach {
    host: String,
    guest_temp: String,
    target: Target,
    guest: String,
}

impl Attach {
    /// Step 1: `ip link add <host> type veth peer name <temp>` in this namespace.
    pub fn create(target: Target, guest: &str) -> Attach {
        let host = short_unique("pwh");
        let guest_temp = short_unique("pwg");
        run_ok(
            "ip",
            &[
                "link",
                "add",
                &host,
                "type",
                "veth",
                "peer",
                "name",
                &guest_temp,
            ],
        );
        run_ok("ip", &["link", "set", &host, "up"]);
        Attach {
            host,
            guest_temp,
            target,
            guest: guest.to_string(),
        }
    }

    /// Step 2: the guest end moves into the target namespace (still its temporary name).
    pub fn move_in(&self) -> &Self {
        run_ok(
            "ip",
            &[
                "link",
                "set",
                &self.guest_temp,
                "netns",
                &self.target.netns_word(),
            ],
        );
        self
    }

    /// Step 3: renamed to the awaited name inside the target.
    pub fn rename(&self) -> &Self {
        self.target
            .ip(&["link", "set", &self.guest_temp, "name", &self.guest]);
        self
    }

    /// Step 4: `ip addr add <cidr> dev <guest>` inside the target.
    pub fn add_addr(&self, cidr: &str) -> &Self {
        self.target.ip(&["addr", "add", cidr, "dev", &self.guest]);
        self
    }

    /// Step 5: `ip link set <guest> up` inside the target.
    pub fn up(&self) -> &Self {
        self.target.ip(&["link", "set", &self.guest, "up"]);
        self
    }

    /// All steps with these addresses.
    pub fn all(target: Target, guest: &str, cidrs: &[&str]) -> Attach {
        let a = Attach::create(target, guest);
        a.move_in().rename();
        for c in cidrs {
            a.add_addr(c);
        }
        a.up();
        a
    }

    /// The target namespace.
    pub fn target(&self) -> &Target {
        &self.target
    }
}

impl Drop for Attach {
    fn drop(&mut self) {
        let _ = run("ip", &["link", "del", &self.host]);
    }
}

/// Waits for `child` at most `limit`; kills it (and reaps it) when the limit passes.
/// Returns the status, or `None` when it had to be killed.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let end = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// Waits for `child` at most `limit` and collects stdout and stderr (which must be piped);
/// panics naming `what` when the limit passes.
pub fn output_bounded(mut child: Child, limit: Duration, what: &str) -> Output {
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out_reader = thread::spawn(move || read_all(stdout.as_mut()));
    let err_reader = thread::spawn(move || read_all(stderr.as_mut()));
    let status = wait_bounded(&mut child, limit);
    let stdout = out_reader.join().unwrap();
    let stderr = err_reader.join().unwrap();
    let Some(status) = status else {
        panic!(
            "{what}: still running after {limit:?}; stderr: {}",
            String::from_utf8_lossy(&stderr)
        );
    };
    Output {
        status,
        stdout,
        stderr,
    }
}

fn read_all<R: Read>(r: Option<&mut R>) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(r) = r {
        let _ = r.read_to_end(&mut buf);
    }
    buf
}

/// A field of `/proc/<pid>/status` (e.g. `SigBlk`), or `None` when the process is gone.
pub fn proc_status(pid: u32, field: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

/// `/proc/<pid>/comm`, or `None` when the process is gone.
pub fn comm(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// Polls `cond` every 2 ms for at most `limit`; true when it held.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// True once process `pid` is `wait-for-weave` with SIGTERM blocked: it is waiting, and a
/// SIGTERM now is queued for it rather than lost.
pub fn waiter_is_waiting(pid: u32) -> bool {
    comm(pid).as_deref() == Some("wait-for-weave")
        && proc_status(pid, "SigBlk")
            .and_then(|m| u64::from_str_radix(&m, 16).ok())
            .is_some_and(|m| m & (1 << (15 - 1)) != 0)
}

/// A route netlink socket opened inside a namespace (the socket stays bound to it), for
/// requests whose sequence numbers the test chooses: notifications carry them, so they can
/// collide with the waiter's own (which count up from 1).
pub struct Rtnl {
    socket: Socket,
}

impl Rtnl {
    /// Opens the socket in `target` from a short-lived thread (`setns` is per thread), so
    /// the test's own threads never change namespace.
    pub fn open_in(target: &Target) -> Rtnl {
        let path = target.path();
        let socket = thread::spawn(move || {
            let ns = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
            nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                .unwrap_or_else(|e| panic!("setns {path}: {e}"));
            let mut s = Socket::new(NETLINK_ROUTE).expect("netlink socket");
            s.bind_auto().expect("bind netlink socket");
            s
        })
        .join()
        .expect("setns thread");
        Rtnl { socket }
    }

    fn send(&self, message: RouteNetlinkMessage, flags: u16, seq: u32) {
        let mut nl = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(message));
        nl.header.flags = NLM_F_REQUEST | flags;
        nl.header.sequence_number = seq;
        nl.finalize();
        let mut buf = vec![0; nl.buffer_len()];
        nl.serialize(&mut buf);
        self.socket.send(&buf, 0).expect("netlink send");
    }

    /// Sends with `NLM_F_ACK` and checks the kernel's answer (rtnetlink answers within the
    /// send call, so the read never blocks).
    fn request(&self, message: RouteNetlinkMessage, flags: u16, seq: u32) {
        self.send(message, flags | NLM_F_ACK, seq);
        let mut buf = vec![0u8; 65536];
        loop {
            let mut slice = &mut buf[..];
            let n = self
                .socket
                .recv(&mut slice, nix::libc::MSG_DONTWAIT)
                .expect("netlink acknowledgement");
            let nl = NetlinkBuffer::new_checked(&buf[..n]).expect("netlink reply");
            if nl.message_type() == NLMSG_ERROR && nl.sequence_number() == seq {
                let code = i32::from_ne_bytes(nl.payload()[..4].try_into().unwrap());
                assert_eq!(code, 0, "rtnetlink request {seq} failed: errno {}", -code);
                return;
            }
        }
    }

    fn link(index: u32, up: bool) -> LinkMessage {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.header.flags = if up {
            LinkFlags::Up
        } else {
            LinkFlags::empty()
        };
        m.header.change_mask = LinkFlags::Up;
        m
    }

    fn addr(index: u32, addr: std::net::Ipv4Addr, prefix: u8) -> AddressMessage {
        let mut m = AddressMessage::default();
        m.header.family = AddressFamily::Inet;
        m.header.prefix_len = prefix;
        m.header.index = index;
        m.attributes.push(AddressAttribute::Local(addr.into()));
        m.attributes.push(AddressAttribute::Address(addr.into()));
        m
    }

    /// Sets link `index` up or down (`RTM_NEWLINK` with `IFF_UP` in the change mask) with
    /// sequence number `seq`, checked.
    pub fn set_up(&self, index: u32, up: bool, seq: u32) {
        self.request(RouteNetlinkMessage::NewLink(Self::link(index, up)), 0, seq);
    }

    /// Removes `addr/prefix` from link `index` with sequence number `seq`, checked.
    pub fn del_addr(&self, index: u32, addr: std::net::Ipv4Addr, prefix: u8, seq: u32) {
        let m = RouteNetlinkMessage::DelAddress(Self::addr(index, addr, prefix));
        self.request(m, 0, seq);
    }

    /// Adds `addr/prefix` to link `index` with sequence number `seq`, checked.
    pub fn add_addr(&self, index: u32, addr: std::net::Ipv4Addr, prefix: u8, seq: u32) {
        let m = RouteNetlinkMessage::NewAddress(Self::addr(index, addr, prefix));
        self.request(m, NLM_F_CREATE | NLM_F_EXCL, seq);
    }
}

/// Floods a namespace with link and address requests from another thread until dropped:
/// a veth end is set up and down and addresses are added and removed on it, with
/// sequence numbers cycling through 1..=16 (colliding with the waiter's). Every request
/// makes a notification for the waiter; unchecked, for speed.
pub struct Flood {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU32>,
    thread: Option<JoinHandle<()>>,
}

impl Flood {
    /// Creates a veth pair `pwf…` inside `ns` (no dummy driver needed) and starts flooding
    /// on one end.
    pub fn start(ns: &NetNs) -> Flood {
        let dummy = short_unique("pwf");
        let peer = short_unique("pwf");
        ns.ip(&["link", "add", &dummy, "type", "veth", "peer", "name", &peer]);
        let index = ns.target().ifindex(&dummy);
        let rtnl = Rtnl::open_in(&ns.target());
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU32::new(0));
        let (stop2, sent2) = (stop.clone(), sent.clone());
        let thread = thread::spawn(move || {
            let mut i: u32 = 0;
            while !stop2.load(Ordering::Relaxed) {
                let seq = i % 16 + 1;
                let addr =
                    std::net::Ipv4Addr::new(10, 254, (i / 200 % 200) as u8, (i % 200) as u8 + 1);
                let add = RouteNetlinkMessage::NewAddress(Rtnl::addr(index, addr, 32));
                rtnl.send(add, NLM_F_CREATE | NLM_F_EXCL, seq);
                let del = RouteNetlinkMessage::DelAddress(Rtnl::addr(index, addr, 32));
                rtnl.send(del, 0, seq);
                rtnl.send(
                    RouteNetlinkMessage::NewLink(Rtnl::link(index, i.is_multiple_of(2))),
                    0,
                    seq,
                );
                sent2.fetch_add(3, Ordering::Relaxed);
                i = i.wrapping_add(1);
                // Drain our own error answers (none expected) so our buffer never blocks.
                let mut buf = [0u8; 4096];
                let mut slice = &mut buf[..];
                let _ = rtnl.socket.recv(&mut slice, nix::libc::MSG_DONTWAIT);
            }
        });
        Flood {
            stop,
            sent,
            thread: Some(thread),
        }
    }

    /// Requests sent so far (each makes at least one notification).
    pub fn sent(&self) -> u32 {
        self.sent.load(Ordering::Relaxed)
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
