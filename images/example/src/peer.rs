//! Talking to a peer over the network the container waited for: one TCP try as the app's
//! first instruction (`--reach`), and a greeting server (`--serve`).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// Bound on the one connection attempt and on reading the answer. Long enough for TCP to
/// send its opening packet again (after 1 and 3 s) while a peer on another host learns
/// of this new endpoint: Docker's overlay spreads it by gossip, usually in well under a
/// second, more on a loaded host.
const REACH_TIMEOUT: Duration = Duration::from_secs(10);

/// The value of `--reach` in the arguments after the program name: `Ok(None)` when absent,
/// `Err(())` when `--reach` has no value.
pub fn reach_arg(mut args: impl Iterator<Item = String>) -> Result<Option<String>, ()> {
    while let Some(arg) = args.next() {
        if arg == "--reach" {
            return args.next().filter(|v| !v.is_empty()).map(Some).ok_or(());
        }
    }
    Ok(None)
}

/// One TCP connection to `target` (`a.b.c.d:port`), no retry, and the first line the peer
/// answers. Errors: the address does not parse, or connecting or reading fails or takes
/// longer than 10 s; the text says which.
pub fn reach(target: &str) -> Result<String, String> {
    let addr: SocketAddr = target
        .to_socket_addrs()
        .map_err(|e| format!("{target:?} is not HOST:PORT ({e})"))?
        .next()
        .ok_or_else(|| format!("{target:?} has no address"))?;
    let stream = TcpStream::connect_timeout(&addr, REACH_TIMEOUT).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(REACH_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .map_err(|e| format!("connected, but no answer: {e}"))?;
    Ok(line.trim_end().to_string())
}

extern "C" fn end(_: nix::libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { nix::libc::_exit(0) }
}

/// Answers every connection on `port` (all addresses) with `greeting` and a newline, until
/// SIGTERM or SIGINT, which end it with status 0. As a container's PID 1 it needs the
/// handlers: PID 1 ignores signals it has none for, and `docker stop` would wait 10 s.
pub fn serve(port: u16, greeting: &str) -> ExitCode {
    let handler = SigAction::new(SigHandler::Handler(end), SaFlags::empty(), SigSet::empty());
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        // SAFETY: the handler only calls _exit.
        let _ = unsafe { sigaction(signal, &handler) };
    }
    let listener = match TcpListener::bind(("0.0.0.0", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("weavewait-example: cannot listen on port {port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("serving on port {port}");
    for stream in listener.incoming().flatten() {
        let mut stream = stream;
        let _ = writeln!(stream, "{greeting}");
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> impl Iterator<Item = String> {
        words
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn reach_value_is_found_anywhere() {
        assert_eq!(reach_arg(args(&[])), Ok(None));
        assert_eq!(
            reach_arg(args(&["--iface", "eth1", "--reach", "10.0.0.1:7"])),
            Ok(Some("10.0.0.1:7".to_string()))
        );
        assert_eq!(reach_arg(args(&["--reach"])), Err(()));
        assert_eq!(reach_arg(args(&["--reach", ""])), Err(()));
    }

    #[test]
    fn reach_reads_the_first_line_and_reports_refusals() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            writeln!(s, "hello from 127.0.0.1").unwrap();
        });
        assert_eq!(reach(&addr.to_string()).unwrap(), "hello from 127.0.0.1");
        server.join().unwrap();
        // The listener is gone: refused at once.
        let err = reach(&addr.to_string()).unwrap_err();
        assert!(err.contains("refused"), "{err}");
        let err = reach("nonsense").unwrap_err();
        assert!(err.contains("is not HOST:PORT"), "{err}");
    }
}
