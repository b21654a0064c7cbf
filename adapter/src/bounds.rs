//! Every limit on a wait, in one place (docs/design.md "Bounds" says what each one bounds,
//! what a user sees when it is reached, and which test reaches it).
//!
//! The defaults are the product's. `POWERSTRIP_WEAVE_BOUNDS` (for tests, and for hosts that
//! need other values) overrides some of them, e.g.
//! `POWERSTRIP_WEAVE_BOUNDS=connect=2s,ping=500ms`: comma-separated `name=duration` pairs, a
//! duration being a whole number followed by `ms` or `s`. It is read once, at start-up;
//! a bad value stops the program with a message naming it.

use std::sync::OnceLock;
use std::time::Duration;

/// The environment variable that overrides bounds.
pub const ENV: &str = "POWERSTRIP_WEAVE_BOUNDS";

/// The limits of every wait the proxy and the adapter make. Each field's doc says what
/// waits and why the default is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// `connect`: the proxy connecting to the daemon (10 s). Below the docker CLI's own
    /// unix-socket dial timeout (32 s, go-connections `sockets`), so through the proxy an
    /// unreachable daemon fails no later than it would directly.
    pub connect: Duration,
    /// `ping`: a forwarded request whose answer has not begun after this long gets a
    /// `GET /_ping` of its own to the daemon, again every `ping`, each of which must be
    /// answered within `ping` (10 s). The daemon answers `_ping` at once even while it
    /// works on a long request (a `stop -t 600`, a commit, a prune), so only a daemon that
    /// is frozen or wedged fails it; the CLI itself gives `_ping` 2 s before it falls back.
    pub ping: Duration,
    /// `reuse`: waiting for the kept-alive daemon connection to finish its previous
    /// exchange before a fresh one is opened instead (2 s). The previous answer has been
    /// passed on whole by then; this covers the moment the connection needs to notice.
    pub reuse: Duration,
    /// `header`: a client's request head, from the first byte or from the end of the
    /// previous answer on a kept-alive connection (30 s, hyper's default): the CLI writes
    /// a head at once, and an idle connection is closed after this long (the CLI opens a
    /// new one).
    pub header: Duration,
    /// `body`: a request body read whole (a create, a body shown to adapters, a powerstrip
    /// envelope) (30 s): the CLI and powerstrip write them at once.
    pub body: Duration,
    /// `tls`: a TLS handshake (10 s).
    pub tls: Duration,
    /// `docker`: each call the hooks make to the daemon: inspect (image, container),
    /// kill, list (30 s). A live daemon answers them in milliseconds; a kill waits for
    /// the process to die, which Docker itself bounds at about 12 s.
    pub docker: Duration,
    /// `hold`: how long a start (proxy) or post-hook (adapter) is held for the attach of
    /// its container (90 s): longer than any attach takes when its own bounds hold. When
    /// it is reached the attach goes on in its task, and its failure rule still applies.
    pub hold: Duration,
    /// `lock`: an attach waiting for another attach of the same container (120 s): longer
    /// than one attach can hold the lock within its own bounds.
    pub lock: Duration,
    /// `netlink`: each host-side netlink request of the bridge backend (10 s): the kernel
    /// answers in microseconds unless something holds the rtnl lock.
    pub netlink: Duration,
    /// `netns`: the work inside a container's network namespace (30 s); the thread doing
    /// it ends at this bound too.
    pub netns: Duration,
    /// `command`: one run of the `command:` or `weave` backend (60 s): `weave attach`
    /// may have to start its IPAM.
    pub command: Duration,
    /// `iptables`: each run of iptables for the bridge's FORWARD rule (10 s; iptables
    /// itself waits 5 s for the xtables lock).
    pub iptables: Duration,
    /// `backoff`: the longest pause between re-subscriptions to Docker's events (5 s), so
    /// a daemon back after a restart is followed again within 5 s.
    pub backoff: Duration,
    /// `drain`: on SIGINT/SIGTERM, waiting for the attaches in flight to finish (8 s):
    /// below `docker stop`'s default 10 s grace, so the proxy's own container stops cleanly.
    pub drain: Duration,
}

impl Bounds {
    /// The product's limits.
    pub const DEFAULT: Bounds = Bounds {
        connect: Duration::from_secs(10),
        ping: Duration::from_secs(10),
        reuse: Duration::from_secs(2),
        header: Duration::from_secs(30),
        body: Duration::from_secs(30),
        tls: Duration::from_secs(10),
        docker: Duration::from_secs(30),
        hold: Duration::from_secs(90),
        lock: Duration::from_secs(120),
        netlink: Duration::from_secs(10),
        netns: Duration::from_secs(30),
        command: Duration::from_secs(60),
        iptables: Duration::from_secs(10),
        backoff: Duration::from_secs(5),
        drain: Duration::from_secs(8),
    };

    /// The bounds `spec` (the value of [`ENV`]) sets over the defaults.
    ///
    /// Errors: an item that is not `name=duration`, an unknown name, a duration without
    /// `ms` or `s`; the message names the item and what is expected.
    pub fn parse(spec: &str) -> Result<Bounds, String> {
        let mut b = Bounds::DEFAULT;
        for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| format!("{ENV}: {item:?} is not name=duration"))?;
            let d = duration(value.trim()).ok_or_else(|| {
                format!("{ENV}: {item:?}: write the duration as e.g. 500ms or 2s")
            })?;
            let slot = match name.trim() {
                "connect" => &mut b.connect,
                "ping" => &mut b.ping,
                "reuse" => &mut b.reuse,
                "header" => &mut b.header,
                "body" => &mut b.body,
                "tls" => &mut b.tls,
                "docker" => &mut b.docker,
                "hold" => &mut b.hold,
                "lock" => &mut b.lock,
                "netlink" => &mut b.netlink,
                "netns" => &mut b.netns,
                "command" => &mut b.command,
                "iptables" => &mut b.iptables,
                "backoff" => &mut b.backoff,
                "drain" => &mut b.drain,
                other => {
                    return Err(format!(
                        "{ENV}: unknown bound {other:?}; known: connect, ping, reuse, header, \
                         body, tls, docker, hold, lock, netlink, netns, command, iptables, \
                         backoff, drain"
                    ))
                }
            };
            *slot = d;
        }
        Ok(b)
    }
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds::DEFAULT
    }
}

/// `500ms`, `2s`.
fn duration(text: &str) -> Option<Duration> {
    let (digits, unit): (&str, fn(u64) -> Duration) = match text.strip_suffix("ms") {
        Some(d) => (d, Duration::from_millis),
        None => (text.strip_suffix('s')?, Duration::from_secs),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(unit)
}

static BOUNDS: OnceLock<Bounds> = OnceLock::new();

/// Reads [`ENV`] once; call it at start-up, before anything waits, so a bad value is
/// reported at once.
///
/// Errors: see [`Bounds::parse`].
pub fn init() -> Result<&'static Bounds, String> {
    let parsed = match std::env::var(ENV) {
        Ok(spec) => Bounds::parse(&spec)?,
        Err(_) => Bounds::DEFAULT,
    };
    Ok(BOUNDS.get_or_init(|| parsed))
}

/// The bounds in force: those [`init`] read, else the defaults.
pub fn get() -> &'static Bounds {
    BOUNDS.get_or_init(|| Bounds::DEFAULT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_take_units() {
        let b = Bounds::parse("connect=2s, ping=500ms,,drain=0ms").unwrap();
        assert_eq!(b.connect, Duration::from_secs(2));
        assert_eq!(b.ping, Duration::from_millis(500));
        assert_eq!(b.drain, Duration::ZERO);
        assert_eq!(b.hold, Bounds::DEFAULT.hold);
        assert_eq!(Bounds::parse("").unwrap(), Bounds::DEFAULT);
    }

    #[test]
    fn bad_items_are_named() {
        for (spec, says) in [
            ("connect", "is not name=duration"),
            ("connect=2", "500ms or 2s"),
            ("connect=-2s", "500ms or 2s"),
            ("connect=2m", "500ms or 2s"),
            ("connect=s", "500ms or 2s"),
            ("conect=2s", "unknown bound \"conect\""),
        ] {
            let e = Bounds::parse(spec).unwrap_err();
            assert!(e.starts_with(ENV) && e.contains(says), "{spec}: {e}");
        }
    }
}
