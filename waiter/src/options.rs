//! The command line and its environment equivalents (DESIGN §2).
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

use crate::cidr::{self, WeaveCidr};
use crate::readiness::IfAddr;

/// Environment variable naming the interface (`--iface`).
pub const ENV_IFACE: &str = "WAIT_FOR_WEAVE_IFACE";
/// Environment variable giving the timeout in seconds (`--timeout`).
pub const ENV_TIMEOUT: &str = "WAIT_FOR_SECONDS";
/// `WAIT_FOR_WEAVE_SKIP=yes`: exec the command without waiting.
pub const ENV_SKIP: &str = "WAIT_FOR_WEAVE_SKIP";
/// `WAIT_FOR_WEAVE_QUIT=yes`: exit 0 at once.
pub const ENV_QUIT: &str = "WAIT_FOR_WEAVE_QUIT";
/// The interface awaited by default.
pub const DEFAULT_IFACE: &str = "ethwe";
/// Exit status of a usage error.
pub const USAGE: i32 = 2;

/// The usage line, shown with errors.
pub const USAGE_LINE: &str = "usage: wait-for-weave [OPTIONS] [--] COMMAND [ARG...]";

const VALUE_OPTIONS: [&str; 3] = ["--iface", "--addr", "--timeout"];

#[derive(FromArgs)]
/// Run COMMAND once the network interface is up with its addresses.
#[argh(
    help_triggers("-h", "--help"),
    note = "Options are read only before COMMAND; every word from COMMAND on is passed \
            verbatim.\n\
            Ready: the interface exists, is up, and carries every --addr (default: the \
            exact a.b.c.d/n and ip:a.b.c.d/n items of WEAVE_CIDR), or, when no address is \
            expected, any IPv4 address.\n\n\
            Environment: WAIT_FOR_WEAVE_IFACE (--iface), WEAVE_CIDR (default for --addr), \
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
    /// interface to wait for (default: $WAIT_FOR_WEAVE_IFACE, else ethwe)
    #[argh(option)]
    iface: Option<String>,
    /// address the interface must carry: a.b.c.d/n, ip:a.b.c.d/n or an IPv6 address/n;
    /// repeatable
    #[argh(option)]
    addr: Vec<String>,
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
pub struct Options {
    /// The interface name (1 to 15 bytes).
    pub iface: String,
    /// Every address the interface must carry; empty = any IPv4 address.
    pub expected: Vec<IfAddr>,
    /// Give up after this long; `None` = wait forever.
    pub timeout: Option<Duration>,
    /// The timeout as the user wrote it, for the timeout message.
    pub timeout_text: String,
    /// Print the `ready after` line.
    pub verbose: bool,
    /// The command: file (also argv[0]) and arguments, verbatim.
    pub command: Vec<OsString>,
}

/// What the waiter does.
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

/// A usage error (exit status 2): the message names the bad input and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Parses `argv` (including argv[0]) with `env` looking up environment variables.
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

    let iface = match args.iface {
        Some(name) => name,
        None => env_string(&env, ENV_IFACE)?.unwrap_or_else(|| DEFAULT_IFACE.to_string()),
    };
    check_iface(&iface)?;
    let expected = if args.addr.is_empty() {
        match env_string(&env, cidr::ENV_NAME)? {
            Some(value) => match cidr::parse(&value).map_err(|e| UsageError(e.to_string()))? {
                // `none`: nothing will ever attach, so waiting could only end in a timeout.
                WeaveCidr::None => return Ok(Action::Exec(command)),
                asked => asked
                    .expected_addrs()
                    .into_iter()
                    .map(IfAddr::from)
                    .collect(),
            },
            None => Vec::new(),
        }
    } else {
        args.addr
            .iter()
            .map(|a| parse_addr(a))
            .collect::<Result<_, _>>()?
    };
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
                "option word {:?} is not valid UTF-8",
                w.to_string_lossy()
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
                "{name} {:?} is not valid UTF-8",
                v.to_string_lossy()
            ))
        }),
    }
}

fn check_iface(name: &str) -> Result<(), UsageError> {
    let bad = name.is_empty()
        || name.len() > 15
        || name == "."
        || name == ".."
        || name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace());
    if bad {
        return Err(UsageError(format!(
            "invalid interface name {name:?}: give 1 to 15 bytes without '/', ':' or spaces \
             (--iface or {ENV_IFACE})"
        )));
    }
    Ok(())
}

/// One `--addr`: an exact IPv4 address as in WEAVE_CIDR (`a.b.c.d/n`, `ip:a.b.c.d/n`) or
/// an IPv6 address with its prefix (`fd00::1/64`).
fn parse_addr(text: &str) -> Result<IfAddr, UsageError> {
    let fail = |why: &str| UsageError(format!("invalid --addr {text:?}: {why}"));
    if let Some((addr, prefix)) = text.split_once('/') {
        if let Ok(addr) = addr.parse::<Ipv6Addr>() {
            return match prefix.parse::<u8>() {
                Ok(p) if p <= 128 && !prefix.starts_with('+') => Ok(IfAddr {
                    addr: addr.into(),
                    prefix: p,
                }),
                _ => Err(fail("the IPv6 prefix must be a number from 0 to 128")),
            };
        }
    }
    cidr::parse_exact(text)
        .map(IfAddr::from)
        .map_err(|why| fail(&format!("{why} (or an IPv6 address/n)")))
}

/// Seconds as `N` or `N.F` (decimal digits, up to nanoseconds), without floating point:
/// float parsing and formatting would add tens of KB to the static binary.
fn parse_timeout(source: &str, text: &str) -> Result<Option<Duration>, UsageError> {
    let fail = || {
        UsageError(format!(
            "invalid {source} {text:?}: give a number of seconds, e.g. 30 or 0.5 (0 = wait forever)"
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
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::os::unix::ffi::OsStringExt;

    fn os(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    fn run(words: &[&str], env: &[(&str, &str)]) -> Result<Action, UsageError> {
        let env: HashMap<String, OsString> = env
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        let mut argv = os(&["wait-for-weave"]);
        argv.extend(os(words));
        parse(argv, |k| env.get(k).cloned())
    }

    fn wait(words: &[&str], env: &[(&str, &str)]) -> Options {
        match run(words, env) {
            Ok(Action::Wait(o)) => o,
            other => panic!("{other:?}"),
        }
    }

    fn addr(s: &str) -> IfAddr {
        let (a, p) = s.split_once('/').unwrap();
        IfAddr {
            addr: a.parse().unwrap(),
            prefix: p.parse().unwrap(),
        }
    }

    #[test]
    fn defaults() {
        let o = wait(&["app"], &[]);
        assert_eq!(o.iface, "ethwe");
        assert_eq!(o.expected, vec![]);
        assert_eq!(o.timeout, None);
        assert!(!o.verbose);
        assert_eq!(o.command, os(&["app"]));
    }

    #[test]
    fn options_end_at_the_first_command_word() {
        let o = wait(
            &[
                "-v", "--iface", "weave1", "sh", "-c", "--help", "--", "--iface", "x",
            ],
            &[],
        );
        assert!(o.verbose);
        assert_eq!(o.iface, "weave1");
        assert_eq!(o.command, os(&["sh", "-c", "--help", "--", "--iface", "x"]));
    }

    #[test]
    fn double_dash_ends_options_and_is_not_passed_on() {
        let o = wait(&["--timeout", "3", "--", "-weird", "--"], &[]);
        assert_eq!(o.command, os(&["-weird", "--"]));
        assert_eq!(o.timeout, Some(Duration::from_secs(3)));
        let o = wait(&["--", "--"], &[]);
        assert_eq!(o.command, os(&["--"]));
    }

    #[test]
    fn values_may_look_like_options_or_commands() {
        let o = wait(&["--iface", "-x", "app"], &[]);
        assert_eq!(o.iface, "-x");
        let o = wait(&["--iface=eth1", "--addr=10.0.0.1/8", "app"], &[]);
        assert_eq!(o.iface, "eth1");
        assert_eq!(o.expected, vec![addr("10.0.0.1/8")]);
    }

    #[test]
    fn non_utf8_command_words_pass_through() {
        let mut argv = os(&["wait-for-weave", "--", "printf"]);
        argv.push(OsString::from_vec(vec![b'a', 0xff, b'\n']));
        let Ok(Action::Wait(o)) = parse(argv.clone(), |_| None) else {
            panic!()
        };
        assert_eq!(o.command, argv[2..].to_vec());
    }

    #[test]
    fn a_lone_dash_is_a_command_word() {
        assert_eq!(wait(&["-", "x"], &[]).command, os(&["-", "x"]));
    }

    #[test]
    fn environment_equivalents() {
        let o = wait(
            &["app"],
            &[
                ("WAIT_FOR_WEAVE_IFACE", "weave7"),
                ("WEAVE_CIDR", "10.2.1.1/24 net:10.3.0.0/16 ip:10.2.1.2/24"),
                ("WAIT_FOR_SECONDS", "2.5"),
            ],
        );
        assert_eq!(o.iface, "weave7");
        assert_eq!(o.expected, vec![addr("10.2.1.1/24"), addr("10.2.1.2/24")]);
        assert_eq!(o.timeout, Some(Duration::from_millis(2500)));
        assert_eq!(o.timeout_text, "2.5");
    }

    #[test]
    fn options_win_over_the_environment() {
        let o = wait(
            &[
                "--iface",
                "a",
                "--addr",
                "fd00::1/64",
                "--addr",
                "10.0.0.1/8",
                "--timeout",
                "1",
                "app",
            ],
            &[
                ("WAIT_FOR_WEAVE_IFACE", "b"),
                ("WEAVE_CIDR", "this is not consulted"),
                ("WAIT_FOR_SECONDS", "9"),
            ],
        );
        assert_eq!(o.iface, "a");
        assert_eq!(o.expected, vec![addr("fd00::1/64"), addr("10.0.0.1/8")]);
        assert_eq!(o.timeout_text, "1");
    }

    #[test]
    fn allocation_only_weave_cidr_means_any_ipv4() {
        for v in ["", "net:default", "net:10.3.0.0/16"] {
            assert_eq!(wait(&["app"], &[("WEAVE_CIDR", v)]).expected, vec![], "{v}");
        }
    }

    #[test]
    fn weave_cidr_none_execs_at_once_unless_addr_is_given() {
        for v in ["none", " none\t"] {
            assert_eq!(
                run(&["-v", "app", "x"], &[("WEAVE_CIDR", v)]),
                Ok(Action::Exec(os(&["app", "x"]))),
                "{v:?}"
            );
        }
        let o = wait(&["--addr", "10.0.0.1/8", "app"], &[("WEAVE_CIDR", "none")]);
        assert_eq!(o.expected, vec![addr("10.0.0.1/8")]);
    }

    #[test]
    fn invalid_weave_cidr_is_a_usage_error_with_the_grammar_message() {
        let err = run(&["app"], &[("WEAVE_CIDR", "10.2.1.1")]).unwrap_err();
        assert!(
            err.0
                .starts_with("invalid WEAVE_CIDR \"10.2.1.1\": item \"10.2.1.1\": missing /prefix"),
            "{err}"
        );
    }

    #[test]
    fn decimal_timeouts() {
        let t = |v: &str| wait(&["--timeout", v, "app"], &[]).timeout;
        assert_eq!(t("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(t(".25"), Some(Duration::from_millis(250)));
        assert_eq!(t("7."), Some(Duration::from_secs(7)));
        assert_eq!(t(" 2 "), Some(Duration::from_secs(2)));
        assert_eq!(t("0.000000001"), Some(Duration::from_nanos(1)));
        assert_eq!(t("0.000"), None);
    }

    #[test]
    fn zero_or_empty_timeout_means_forever() {
        assert_eq!(wait(&["--timeout", "0", "app"], &[]).timeout, None);
        assert_eq!(wait(&["app"], &[("WAIT_FOR_SECONDS", "")]).timeout, None);
    }

    #[test]
    fn usage_errors_name_the_input() {
        for (words, env, needle) in [
            (
                &["--timeout", "soon", "app"][..],
                &[][..],
                "invalid --timeout \"soon\"",
            ),
            (&["--timeout", "-1", "app"], &[], "invalid --timeout"),
            (&["--timeout", "1e3", "app"], &[], "invalid --timeout"),
            (&["--timeout", ".", "app"], &[], "invalid --timeout"),
            (
                &["--timeout", "0.0000000001", "app"],
                &[],
                "invalid --timeout",
            ),
            (
                &["--timeout", "99999999999999999999", "app"],
                &[],
                "invalid --timeout",
            ),
            (
                &["app"],
                &[("WAIT_FOR_SECONDS", "x")],
                "invalid WAIT_FOR_SECONDS \"x\"",
            ),
            (
                &["--addr", "net:10.0.0.0/8", "app"],
                &[],
                "invalid --addr \"net:10.0.0.0/8\"",
            ),
            (
                &["--addr", "10.0.0.1", "app"],
                &[],
                "invalid --addr \"10.0.0.1\": item \"10.0.0.1\": missing /prefix; \
                 expected a.b.c.d/n or ip:a.b.c.d/n (or an IPv6 address/n)",
            ),
            (&["--addr", "none", "app"], &[], "\"none\" names no address"),
            (&["--addr", "fd00::1/129", "app"], &[], "IPv6 prefix"),
            (
                &["--iface", "a/b", "app"],
                &[],
                "invalid interface name \"a/b\"",
            ),
            (
                &["--iface", "sixteen-bytes-xx", "app"],
                &[],
                "1 to 15 bytes",
            ),
            (
                &["app"],
                &[("WAIT_FOR_WEAVE_IFACE", "a b")],
                "invalid interface name",
            ),
            (
                &["--frobnicate", "app"],
                &[],
                "Unrecognized argument: --frobnicate",
            ),
            (
                &["--iface"],
                &[],
                "No value provided for option '--iface'; usage: wait-for-weave [OPTIONS] [--] COMMAND",
            ),
            (&[], &[], "missing COMMAND"),
            (&["-v", "--"], &[], "missing COMMAND"),
        ] {
            let err = run(words, env).unwrap_err();
            assert!(err.0.contains(needle), "{words:?}: {err}");
        }
    }

    #[test]
    fn a_refused_word_with_a_newline_keeps_the_message_on_one_line() {
        let err = run(&["--x\ny", "app"], &[]).unwrap_err();
        assert!(
            err.0.starts_with("Unrecognized argument: --x\\ny; usage: "),
            "{err}"
        );
    }

    #[test]
    fn non_utf8_option_words_are_refused() {
        let argv = vec![
            OsString::from("wait-for-weave"),
            OsString::from("--iface"),
            OsString::from_vec(vec![0xff]),
            OsString::from("app"),
        ];
        let err = parse(argv, |_| None).unwrap_err();
        assert!(err.0.contains("not valid UTF-8"), "{err}");
    }

    #[test]
    fn help_and_version() {
        let Ok(Action::Print(help)) = run(&["--help"], &[]) else {
            panic!()
        };
        for needle in [
            "--iface",
            "--addr",
            "--timeout",
            "--verbose",
            "WAIT_FOR_SECONDS",
            "124",
        ] {
            assert!(help.contains(needle), "{needle} missing from:\n{help}");
        }
        assert!(
            help.starts_with("Usage: wait-for-weave [OPTIONS] [--] COMMAND [ARG...]\n"),
            "{help}"
        );
        assert!(matches!(run(&["-h"], &[]), Ok(Action::Print(_))));
        let Ok(Action::Print(v)) = run(&["--version"], &[]) else {
            panic!()
        };
        assert!(v.starts_with("wait-for-weave "), "{v}");
        // After COMMAND, --help belongs to the command.
        assert!(matches!(run(&["app", "--help"], &[]), Ok(Action::Wait(_))));
    }

    #[test]
    fn compatibility_switches() {
        assert_eq!(
            run(&[], &[("WAIT_FOR_WEAVE_QUIT", "yes")]),
            Ok(Action::Quit)
        );
        assert_eq!(
            run(&["--bogus"], &[("WAIT_FOR_WEAVE_QUIT", "yes")]),
            Ok(Action::Quit),
            "quits before looking at anything"
        );
        assert_eq!(
            run(
                &["app", "x"],
                &[("WAIT_FOR_WEAVE_SKIP", "yes"), ("WEAVE_CIDR", "bad")]
            ),
            Ok(Action::Exec(os(&["app", "x"])))
        );
        assert!(matches!(
            run(&["app"], &[("WAIT_FOR_WEAVE_SKIP", "no")]),
            Ok(Action::Wait(_))
        ));
    }
}
