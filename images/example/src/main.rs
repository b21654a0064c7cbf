//! `weavewait-example [--iface NAME] [--reach HOST:PORT] [--serve PORT]`: the app of the
//! weavewait-example image. Run behind the waiter (which execs it, so this process started
//! when the waiter did), it prints how long the container waited for its network and the
//! addresses of the interface:
//!
//! ```text
//! waited 0.412 s for ethwe
//! ethwe inet 10.255.0.51/24
//! ethwe inet6 fe80::5c1e:9aff:fe3b:1/64
//! ```
//!
//! `--iface any` reports every interface but loopback (the waiter's `any`: a Docker
//! network's interface is `eth1`, `eth2`, … on engines before 28).
//!
//! `--reach HOST:PORT` makes its very first instruction a TCP connection to a peer (one
//! try, no retry), so the output shows whether the network was there when the app began:
//! `reached 10.255.0.1:7000 at the first try: hello from 10.255.0.1`. `--serve PORT` then
//! answers every TCP connection on PORT with `hello from <its address>` (with `any`, its
//! IPv4 addresses, space-separated) until stopped.
//!
//! Exit status: 0 with at least one address (and the peer reached), 1 when the interface
//! has none (or is missing) or the peer was not reached, 2 on a usage error.

mod peer;
mod report;

use std::process::ExitCode;

use nix::ifaddrs::getifaddrs;
use nix::time::{clock_gettime, ClockId};
use nix::unistd::{sysconf, SysconfVar};

use report::{format_waited, prefix_len, start_ticks};

const USAGE: &str = "usage: weavewait-example [--iface NAME] [--reach HOST:PORT] [--serve PORT]";

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    // Before anything else: the point is to show what the app's first instruction finds.
    let reach = match peer::reach_arg(std::env::args().skip(1)) {
        Ok(target) => target.map(|t| (peer::reach(&t), t)),
        Err(()) => return usage(),
    };
    let mut iface = "ethwe".to_string();
    let mut serve = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--version" => {
                println!("weavewait-example {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            "--help" | "-h" => {
                println!(
                    "{USAGE}\nprints how long this process waited for NAME (default ethwe; any: \
                     every interface but lo) and its addresses;\n--reach connects to HOST:PORT as its first instruction (one try) \
                     and prints the answer;\n--serve answers each connection on PORT with \
                     \"hello from <address>\" until stopped"
                );
                return ExitCode::SUCCESS;
            }
            "--iface" => match args.next() {
                Some(name) if !name.is_empty() => iface = name,
                _ => return usage(),
            },
            // Already acted on above.
            "--reach" => {
                args.next();
            }
            "--serve" => match args.next().and_then(|p| p.parse::<u16>().ok()) {
                Some(port) if port > 0 => serve = Some(port),
                _ => return usage(),
            },
            _ => return usage(),
        }
    }

    match waited_seconds() {
        Ok(secs) => println!("waited {} for {iface}", format_waited(secs)),
        Err(e) => eprintln!("weavewait-example: cannot tell the wait time: {e}"),
    }

    let addrs = match getifaddrs() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("weavewait-example: getifaddrs: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut found = 0;
    let mut v4s = Vec::new();
    let shown = |name: &str| match iface.as_str() {
        "any" => name != "lo",
        one => name == one,
    };
    for ifa in addrs.filter(|a| shown(&a.interface_name)) {
        let name = &ifa.interface_name;
        let (Some(addr), mask) = (ifa.address, ifa.netmask) else {
            continue;
        };
        if let Some(v4) = addr.as_sockaddr_in() {
            let bits = mask
                .as_ref()
                .and_then(|m| m.as_sockaddr_in())
                .map_or(32, |m| prefix_len(&m.ip().octets()));
            println!("{name} inet {}/{bits}", v4.ip());
            v4s.push(v4.ip().to_string());
            found += 1;
        } else if let Some(v6) = addr.as_sockaddr_in6() {
            let bits = mask
                .as_ref()
                .and_then(|m| m.as_sockaddr_in6())
                .map_or(128, |m| prefix_len(&m.ip().octets()));
            println!("{name} inet6 {}/{bits}", v6.ip());
            found += 1;
        }
    }
    if found == 0 {
        println!("{iface}: no addresses");
        return ExitCode::FAILURE;
    }
    if let Some((result, target)) = reach {
        match result {
            Ok(answer) => println!("reached {target} at the first try: {answer}"),
            Err(e) => {
                println!("could not reach {target} at the first try: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if let Some(port) = serve {
        let me = match (iface.as_str(), v4s.first()) {
            ("any", Some(_)) => v4s.join(" "),
            (_, Some(first)) => first.clone(),
            (_, None) => iface.clone(),
        };
        return peer::serve(port, &format!("hello from {me}"));
    }
    ExitCode::SUCCESS
}

/// Seconds between this process's start (`/proc/self/stat` field 22, in clock ticks since
/// boot; exec keeps it, so it is the waiter's start) and now on CLOCK_BOOTTIME, the clock
/// that field counts on.
fn waited_seconds() -> Result<f64, String> {
    let stat =
        std::fs::read_to_string("/proc/self/stat").map_err(|e| format!("/proc/self/stat: {e}"))?;
    let ticks = start_ticks(&stat).ok_or("/proc/self/stat: no start time field")?;
    let hz = match sysconf(SysconfVar::CLK_TCK) {
        Ok(Some(hz)) if hz > 0 => hz as f64,
        _ => return Err("sysconf(_SC_CLK_TCK) failed".into()),
    };
    let now = clock_gettime(ClockId::CLOCK_BOOTTIME).map_err(|e| format!("clock_gettime: {e}"))?;
    let now = now.tv_sec() as f64 + now.tv_nsec() as f64 / 1e9;
    Ok((now - ticks as f64 / hz).max(0.0))
}
