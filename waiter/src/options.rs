//! The command line and its environment equivalents (docs/design.md §2).
//!
//! `wait-for-weave [OPTIONS] [--] COMMAND [ARG...]`: options are read only before the first
//! word that is not an option (or up to `--`); from there on every word belongs to the
//! command, verbatim, as `OsString` (`-c`, `--help`, `--` and non-UTF-8 bytes included).
//! Pure: argv and an environment lookup in, an [`Action`] or a [`UsageError`] out.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::net::Ipv6Addr;
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use argh::FromArgs;

use crate::cidr::{self, quote, CidrItem, Ipv4Cidr, WeaveCidr};
use crate::readiness::{Expect, IfAddr, Iface};

/// Environment variable naming the interface (`--iface`).
pub const ENV_IFACE: &str = "WAIT_FOR_WEAVE_IFACE";
/// Environment variable giving the subnets `net:default` allocates from
/// (`--default-subnet`), separated by whitespace.
pub const ENV_DEFAULT_SUBNET: &str = "WAIT_FOR_WEAVE_DEFAULT_SUBNET";
/// Environment variable giving the timeout in seconds (`--timeout`).
pub const ENV_TIMEOUT: &str = "WAIT_FOR_SECONDS";
/// `WAIT_FOR_WEAVE_SKIP=yes`: exec the command without waiting.
pub const ENV_SKIP: &str = "WAIT_FOR_WEAVE_SKIP";
/// `WAIT_FOR_WEAVE_QUIT=yes`: exit 0 at once.
pub const ENV_QUIT: &str = "WAIT_FOR_WEAVE_QUIT";
/// The interface awaited by default.
pub const DEFAULT_IFACE: &str = "ethwe";
/// The `--iface` value meaning "any link that carries the expected addresses".
pub const ANY_IFACE: &str = "any";
/// Exit status of a usage error.
pub const USAGE: i32 = 2;

/// The usage line, shown with errors.
pub const USAGE_LINE: &str = "usage: wait-for-weave [OPTIONS] [--] COMMAND [ARG...]";

const VALUE_OPTIONS: [&str; 4] = ["--iface", "--addr", "--default-subnet", "--timeout"];

#[derive(FromArgs)]
/// Run COMMAND once the network interface is up with its addresses.
#[argh(
    help_triggers("-h", "--help"),
    note = "Options are read only before COMMAND; every word from COMMAND on is passed \
            verbatim.\n\
            Ready: the interface exists, is up, and carries every --addr (default: the \
            exact a.b.c.d/n and ip:a.b.c.d/n items of WEAVE_CIDR) and, for each \
            net:a.b.c.d/n item, an IPv4 address inside that subnet; for net:default and \
            an empty or absent WEAVE_CIDR, an IPv4 address (inside --default-subnet \
            when given). With --iface any: each of those on some up link other than \
            loopback, whatever its name.\n\n\
            Environment: WAIT_FOR_WEAVE_IFACE (--iface), WEAVE_CIDR (default for --addr), \
            WAIT_FOR_WEAVE_DEFAULT_SUBNET (--default-subnet, separated by spaces), \
            WAIT_FOR_SECONDS (--timeout), WAIT_FOR_WEAVE_SKIP=yes (exec without waiting; \
            so does WEAVE_CIDR=none without --addr), WAIT_FOR_WEAVE_QUIT=yes (exit 0 at once).",
    error_code(1, "netlink failure"),
    error_code(2, "usage error, invalid WEAVE_CIDR"),
    error_code(124, "timeout"),
    error_code(126, "COMMAND cannot be executed"),
    error_code(127, "COMMAND not found"),
    error_code(128, "+ N: ended by signal N while waiting (SIGTERM: 143)")
)]
struct Args {
    /// interface to wait for, or "any" for any link but loopback that carries the
    /// addresses (default: $WAIT_FOR_WEAVE_IFACE, else ethwe)
    #[argh(option)]
    iface: Option<String>,
    /// address the interface must carry: a.b.c.d/n, ip:a.b.c.d/n or a global or
    /// unique-local IPv6 address/n; repeatable
    #[argh(option)]
    addr: Vec<String>,
    /// subnet a.b.c.d/n that net:default and an empty WEAVE_CIDR allocate from, e.g. a
    /// Docker network's; repeatable (default: $WAIT_FOR_WEAVE_DEFAULT_SUBNET, else any
    /// IPv4 address will do)
    #[argh(option)]
    default_subnet: Vec<String>,
    /// give up after this many seconds, with status 124 (default: $WAIT_FOR_SECONDS, else
    /// wait forever; 0 means forever)
    #[argh(option)]
    timeout: Option<String>,
    /// print one line to stderr with the wait time and the addresses
    #[argh(switch, short = 'v')]
    verbose: bool,
    /// print the version and exit
    #[argh(switch)]
    version: bool,
    /// the command to run and its arguments
    #[argh(positional, greedy)]
    // Only for --help: the command is split off before argh sees the words.
    #[allow(dead_code)]
    command: Vec<String>,
}

/// What to wait for and what to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Wait, then exec.
    Wait(Options),
    /// `WAIT_FOR_WEAVE_SKIP=yes`, or `WEAVE_CIDR=none` without `--addr` (the container is
    /// left alone, nothing will attach): exec this command without waiting.
    Exec(Vec<OsString>),
    /// `WAIT_FOR_WEAVE_QUIT=yes`: exit 0 at once.
    Quit,
    /// `--help` or `--version`: print this to stdout and exit 0.
    Print(String),
}

/// What to wait for and what to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The link to wait for, or any.
    pub iface: Iface,
    /// What the link(s) must carry, without duplicates, never empty.
    pub expected: Vec<Expect>,
    /// Give up after this long; `None` = wait forever.
    pub timeout: Option<Duration>,
    /// The timeout as the user wrote it, for the timeout message.
    pub timeout_text: String,
    /// Print the `ready after` line.
    pub verbose: bool,
    /// The command: file (also `argv[0]`) and arguments, verbatim.
    pub command: Vec<OsString>,
}

/// A usage error (exit status 2): the message names the bad input and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Parses `argv` (including `argv[0]`) with `env` looking up environment variables.
pub fn parse(
    argv: Vec<OsString>,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<Action, UsageError> {
    if env(ENV_QUIT).is_some_and(|v| v == "yes") {
        return Ok(Action::Quit);
    }
    let (option_words, command) = split(argv.into_iter().skip(1).collect())?;
    let words: Vec<&str> = option_words.iter().map(String::as_str).collect();
    let args = match Args::from_args(&["wait-for-weave"], &words) {
        Ok(args) => args,
        Err(early) if early.status.is_ok() => {
            return Ok(Action::Print(one_usage_form(early.output)))
        }
        Err(early) => {
            // argh ends its messages with a full stop; ours go on after a semicolon. It
            // quotes the words it refuses as they are: escape their control characters so
            // the message stays one line.
            let message: String = early
                .output
                .trim_end()
                .trim_end_matches('.')
                .chars()
                .flat_map(|c| -> Vec<char> {
                    if c.is_control() {
                        c.escape_default().collect()
                    } else {
                        vec![c]
                    }
                })
                .collect();
            return Err(UsageError(format!("{message}; {USAGE_LINE} (see --help)")));
        }
    };
    if args.version {
        return Ok(Action::Print(format!(
            "wait-for-weave {}\n",
            env!("CARGO_PKG_VERSION")
        )));
    }
    if command.is_empty() {
        return Err(UsageError(format!("missing COMMAND; {USAGE_LINE}")));
    }
    if env(ENV_SKIP).is_some_and(|v| v == "yes") {
        return Ok(Action::Exec(command));
    }

    let (iface, iface_source) = iface(args.iface, &env)?;
    let default = default_expectation(&args.default_subnet, &env)?;
    let Some((expected, asked)) = expectations(&args.addr, &env, &default)? else {
        // WEAVE_CIDR=none: nothing will ever attach, so waiting could only end in a timeout.
        return Ok(Action::Exec(command));
    };
    if iface == Iface::Any && expected.contains(&Expect::AnyIpv4) {
        return Err(any_needs_a_subnet(iface_source, &asked));
    }
    let (timeout, timeout_text) = match args.timeout {
        Some(text) => (parse_timeout("--timeout", &text)?, text),
        None => match env_string(&env, ENV_TIMEOUT)? {
            Some(text) => (parse_timeout(ENV_TIMEOUT, &text)?, text),
            None => (None, String::new()),
        },
    };
    Ok(Action::Wait(Options {
        iface,
        expected,
        timeout,
        timeout_text: timeout_text.trim().to_string(),
        verbose: args.verbose,
        command,
    }))
}

/// What `net:default` (and an empty or absent `WEAVE_CIDR`) waits for: an IPv4 address
/// inside the default subnets when they are given, else any IPv4 address.
fn default_expectation(
    options: &[String],
    env: &impl Fn(&str) -> Option<OsString>,
) -> Result<Expect, UsageError> {
    let (words, source): (Vec<String>, &str) = if options.is_empty() {
        let value = env_string(env, ENV_DEFAULT_SUBNET)?.unwrap_or_default();
        (
            value.split_whitespace().map(str::to_string).collect(),
            ENV_DEFAULT_SUBNET,
        )
    } else {
        (options.to_vec(), "--default-subnet")
    };
    if words.is_empty() {
        return Ok(Expect::AnyIpv4);
    }
    let subnets = words
        .iter()
        .map(|w| {
            cidr::parse_subnet(w)
                .map_err(|why| UsageError(format!("invalid {source} {}: {why}", quote(w))))
        })
        .collect::<Result<Vec<Ipv4Cidr>, _>>()?;
    Ok(Expect::Ipv4In(subnets))
}

/// The interface from `--iface`, else the environment, else `ethwe`, and where it came
/// from (`--iface`, the variable's name, or nothing for the default).
fn iface(
    option: Option<String>,
    env: &impl Fn(&str) -> Option<OsString>,
) -> Result<(Iface, &'static str), UsageError> {
    let (name, source) = match option {
        Some(name) => (name, "--iface"),
        None => match env_string(env, ENV_IFACE)? {
            Some(name) => (name, ENV_IFACE),
            None => (DEFAULT_IFACE.to_string(), ""),
        },
    };
    if name == ANY_IFACE {
        return Ok((Iface::Any, source));
    }
    check_iface(source, &name)?;
    Ok((Iface::Named(name), source))
}

/// What to wait for: the `--addr` addresses, else the `WEAVE_CIDR` items, else one default
/// allocation; with the words saying where that came from, for messages. `None` for
/// `WEAVE_CIDR=none`.
fn expectations(
    addrs: &[String],
    env: &impl Fn(&str) -> Option<OsString>,
    default: &Expect,
) -> Result<Option<(Vec<Expect>, String)>, UsageError> {
    if !addrs.is_empty() {
        let addrs = addrs
            .iter()
            .map(|a| parse_addr(a))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Some((
            dedup(addrs.into_iter().map(Expect::Addr)),
            String::new(),
        )));
    }
    let Some(value) = env_string(env, cidr::ENV_NAME)? else {
        let asked = format!("no {} and no --addr", cidr::ENV_NAME);
        return Ok(Some((vec![default.clone()], asked)));
    };
    let items = match cidr::parse(&value).map_err(|e| UsageError(e.to_string()))? {
        WeaveCidr::None => return Ok(None),
        WeaveCidr::Attach(items) if items.is_empty() => vec![CidrItem::NetDefault],
        WeaveCidr::Attach(items) => items,
    };
    let expected = dedup(items.iter().map(|item| match item {
        CidrItem::Ip(c) => Expect::Addr(IfAddr::from(*c)),
        CidrItem::Net(subnet) => Expect::Ipv4In(vec![*subnet]),
        CidrItem::NetDefault => default.clone(),
    }));
    Ok(Some((
        expected,
        format!("{} {}", cidr::ENV_NAME, quote(&value)),
    )))
}

fn dedup(all: impl Iterator<Item = Expect>) -> Vec<Expect> {
    let mut unique: Vec<Expect> = Vec::new();
    for e in all {
        if !unique.contains(&e) {
            unique.push(e);
        }
    }
    unique
}

/// `--iface any` with "any IPv4 address": Docker's own `eth0`, there from the start, would
/// do at once. Which subnet the address comes from must be said.
fn any_needs_a_subnet(iface_source: &str, asked: &str) -> UsageError {
    let iface = match iface_source {
        "--iface" => "--iface any",
        _ => "WAIT_FOR_WEAVE_IFACE=any",
    };
    UsageError(format!(
        "{iface} with {asked} waits for any IPv4 address, and an interface that was already \
         there (such as Docker's eth0) would do at once; set {ENV_DEFAULT_SUBNET} (or \
         --default-subnet) to the subnet the address comes from, e.g. 10.255.0.0/16, ask \
         for net:SUBNET or exact addresses in {}, or name the interface with --iface",
        cidr::ENV_NAME
    ))
}

/// `--help` with the usage line of the errors (argh derives `[--iface <iface>] …
/// [command...]`, which hides `--` and that options end at COMMAND).
fn one_usage_form(help: String) -> String {
    match help.split_once('\n') {
        Some((first, rest)) if first.starts_with("Usage: ") => {
            format!("Usage: {}\n{rest}", &USAGE_LINE["usage: ".len()..])
        }
        _ => help,
    }
}

/// Splits the words after argv[0] into option words (UTF-8, `--name=value` split in two)
/// and the command (verbatim).
fn split(words: Vec<OsString>) -> Result<(Vec<String>, Vec<OsString>), UsageError> {
    let mut options = Vec::new();
    let mut rest = words.into_iter();
    let mut expects_value = false;
    while let Some(word) = rest.next() {
        let bytes = word.as_bytes();
        if !expects_value {
            if bytes == b"--" {
                break;
            }
            if bytes.len() < 2 || bytes[0] != b'-' {
                let mut command = vec![word];
                command.extend(rest);
                return Ok((options, command));
            }
        }
        let text = word.into_string().map_err(|w| {
            UsageError(format!(
                "option word {} is not valid UTF-8",
                quote(&w.to_string_lossy())
            ))
        })?;
        if expects_value {
            expects_value = false;
            options.push(text);
            continue;
        }
        match text.split_once('=') {
            Some((name, value)) if VALUE_OPTIONS.contains(&name) => {
                options.push(name.to_string());
                options.push(value.to_string());
            }
            _ => {
                expects_value = VALUE_OPTIONS.contains(&text.as_str());
                options.push(text);
            }
        }
    }
    Ok((options, rest.collect()))
}

fn env_string(
    env: &impl Fn(&str) -> Option<OsString>,
    name: &str,
) -> Result<Option<String>, UsageError> {
    match env(name) {
        None => Ok(None),
        Some(v) if v.is_empty() && name != cidr::ENV_NAME => Ok(None),
        Some(v) => v.into_string().map(Some).map_err(|v| {
            UsageError(format!(
                "{name} {} is not valid UTF-8",
                quote(&v.to_string_lossy())
            ))
        }),
    }
}

/// `source` is where the name came from (`--iface` or the environment variable).
fn check_iface(source: &str, name: &str) -> Result<(), UsageError> {
    let bad = name.is_empty()
        || name.len() > 15
        || name == "."
        || name == ".."
        || name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace());
    if bad {
        return Err(UsageError(format!(
            "invalid {source} {}: give an interface name of 1 to 15 bytes without '/', ':' \
             or spaces, or {ANY_IFACE}",
            quote(name)
        )));
    }
    Ok(())
}

/// One `--addr`: an exact IPv4 address as in WEAVE_CIDR (`a.b.c.d/n`, `ip:a.b.c.d/n`) or
/// an IPv6 address with its prefix (`fd00::1/64`). IPv6 addresses no interface can make
/// ready are refused: link-local (never counted), multicast, loopback and unspecified.
fn parse_addr(text: &str) -> Result<IfAddr, UsageError> {
    let fail = |why: &str| UsageError(format!("invalid --addr {}: {why}", quote(text)));
    if let Some((addr, prefix)) = text.split_once('/') {
        if let Ok(addr) = addr.parse::<Ipv6Addr>() {
            let prefix = match prefix.parse::<u8>() {
                Ok(p) if p <= 128 && !prefix.starts_with('+') => p,
                _ => return Err(fail("the IPv6 prefix must be a number from 0 to 128")),
            };
            if let Some(what) = never_ready_ipv6(addr) {
                return Err(fail(&format!(
                    "{what}, so it can never make the interface ready; give a global or \
                     unique-local IPv6 address, e.g. fd00::51/64"
                )));
            }
            return Ok(IfAddr {
                addr: addr.into(),
                prefix,
            });
        }
    }
    cidr::parse_exact(text)
        .map(IfAddr::from)
        .map_err(|why| fail(&format!("{why} (or an IPv6 address/n)")))
}

/// Why an interface can never be ready with this IPv6 address, if it cannot.
fn never_ready_ipv6(addr: Ipv6Addr) -> Option<&'static str> {
    let first = addr.segments()[0];
    if first & 0xffc0 == 0xfe80 {
        Some("fe80::/10 is link-local, which never counts (every link has one)")
    } else if first & 0xff00 == 0xff00 {
        Some("ff00::/8 is multicast, never an interface's own address")
    } else if addr == Ipv6Addr::LOCALHOST {
        Some("::1 is loopback, kept to lo")
    } else if addr == Ipv6Addr::UNSPECIFIED {
        Some(":: is the unspecified address")
    } else {
        None
    }
}

/// Seconds as `N` or `N.F` (decimal digits, up to nanoseconds), without floating point:
/// float parsing and formatting would add tens of KB to the static binary.
fn parse_timeout(source: &str, text: &str) -> Result<Option<Duration>, UsageError> {
    let fail = || {
        UsageError(format!(
            "invalid {source} {}: give a number of seconds, e.g. 30 or 0.5 (0 = wait forever)",
            quote(text)
        ))
    };
    let t = text.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) || frac.len() > 9 {
        return Err(fail());
    }
    let secs: u64 = match whole {
        "" => 0,
        w => w.parse().map_err(|_| fail())?,
    };
    let nanos: u32 = match frac {
        "" => 0,
        f => f.parse::<u32>().map_err(|_| fail())? * 10u32.pow(9 - f.len() as u32),
    };
    match Duration::new(secs, nanos) {
        d if d.is_zero() => Ok(None),
        d => Ok(Some(d)),
    }
}

/// The command words of `argv` as a lossy string, for messages.
pub fn display_command(command: &[OsString]) -> String {
    command
        .iter()
        .map(|w| OsStr::to_string_lossy(w).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests;
