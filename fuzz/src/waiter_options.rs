//! Target `waiter_options`: the waiter's command line and environment
//! (`waiter::options::parse`).
//!
//! Input: byte 0 is how many of the words that follow are argv words (after argv[0]); the
//! rest of the input is split at NUL bytes into words, as in `/proc/<pid>/cmdline`: first
//! the argv words, then environment entries `NAME=VALUE` (as in `/proc/<pid>/environ`; the
//! first entry of a name wins, as with getenv). Any other byte may appear anywhere: argv and
//! environment are bytes, not UTF-8.
//!
//! Properties:
//! - `WAIT_FOR_WEAVE_QUIT=yes` quits before anything else, and only it quits;
//! - the command is never empty and is the argv's tail, word for word and byte for byte; its
//!   first word starts with `-` only when `--` ends the options just before it;
//! - `WAIT_FOR_WEAVE_SKIP=yes` never waits;
//! - a wait has a valid interface name (1 to 15 bytes, no `/`, `:` or white space, not `.`
//!   or `..`), a non-zero timeout or none, prefixes within their family, and, when no
//!   `--addr` is given, exactly the exact addresses of `WEAVE_CIDR` as the grammar reads
//!   them; an exec without the skip switch comes from `WEAVE_CIDR=none`;
//! - a usage error is one non-empty line (the waiter prints every failure as one line); one
//!   about `WEAVE_CIDR` is the grammar's own.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use waiter::cidr::{self, WeaveCidr};
use waiter::options::{self, Action, Options};
use waiter::readiness::{Expect, IfAddr, Iface};

/// Checks the properties above for one input; panics when one fails.
pub fn check(data: &[u8]) {
    let (argv, env) = decode(data);
    let lookup = |name: &str| {
        env.iter()
            .find(|(k, _)| k.as_slice() == name.as_bytes())
            .map(|(_, v)| OsString::from_vec(v.clone()))
    };
    let is_yes = |name: &str| lookup(name).is_some_and(|v| v == "yes");
    let result = options::parse(argv.clone(), lookup);
    assert_eq!(
        result,
        options::parse(argv.clone(), lookup),
        "the same input parsed twice"
    );
    let quit = is_yes(options::ENV_QUIT);
    assert_eq!(matches!(result, Ok(Action::Quit)), quit, "{result:?}");
    // Option words: those before the command (all of them when there is none).
    let words = &argv[1..];
    let option_words = match &result {
        Ok(Action::Wait(Options { command, .. }) | Action::Exec(command)) => {
            check_command(words, command);
            &words[..words.len() - command.len()]
        }
        _ => words,
    };
    let addr_given = option_words
        .iter()
        .any(|w| w.as_bytes().starts_with(b"--addr"));
    let weave_cidr = lookup(cidr::ENV_NAME).map(|v| v.to_string_lossy().into_owned());
    match &result {
        Ok(Action::Wait(o)) => {
            assert!(!is_yes(options::ENV_SKIP), "waits despite the skip switch");
            check_wait(o);
            if let (false, Some(value)) = (addr_given, &weave_cidr) {
                let asked = cidr::parse(value).expect("an invalid WEAVE_CIDR is a usage error");
                assert_ne!(asked, WeaveCidr::None, "waits for WEAVE_CIDR=none");
                // Every exact item is awaited as that address and prefix, in order, once;
                // no other exact address is.
                let mut from_grammar: Vec<IfAddr> = Vec::new();
                for a in asked.expected_addrs().into_iter().map(IfAddr::from) {
                    if !from_grammar.contains(&a) {
                        from_grammar.push(a);
                    }
                }
                let awaited: Vec<IfAddr> = o
                    .expected
                    .iter()
                    .filter_map(|e| match e {
                        Expect::Addr(a) => Some(*a),
                        _ => None,
                    })
                    .collect();
                assert_eq!(awaited, from_grammar, "WEAVE_CIDR={value:?}");
            }
        }
        Ok(Action::Exec(_)) => {
            let none = weave_cidr
                .as_deref()
                .is_some_and(|v| cidr::parse(v) == Ok(WeaveCidr::None));
            assert!(is_yes(options::ENV_SKIP) || none, "exec without a reason");
        }
        Ok(Action::Quit | Action::Print(_)) => {}
        Err(e) => {
            assert!(!e.0.trim().is_empty(), "empty usage error");
            // waiter/README.md: every failure prints one line on stderr.
            assert!(
                !e.0.contains('\n'),
                "a usage error of several lines: {:?}",
                e.0
            );
            if e.0.starts_with("invalid WEAVE_CIDR ") {
                let value = weave_cidr.expect("a WEAVE_CIDR error without WEAVE_CIDR");
                let grammar = cidr::parse(&value).expect_err("the grammar accepts it");
                assert_eq!(e.0, grammar.to_string());
            }
        }
    }
}

/// Environment entries: name and value, in order.
type Env = Vec<(Vec<u8>, Vec<u8>)>;

/// The input as argv (with argv[0]) and environment entries; see the module documentation.
fn decode(data: &[u8]) -> (Vec<OsString>, Env) {
    let mut argv = vec![OsString::from("wait-for-weave")];
    let mut env = Vec::new();
    let Some((&count, rest)) = data.split_first() else {
        return (argv, env);
    };
    for (i, word) in rest.split(|&b| b == 0).enumerate() {
        if i < usize::from(count) {
            argv.push(OsString::from_vec(word.to_vec()));
        } else if let Some(eq) = word.iter().position(|&b| b == b'=') {
            env.push((word[..eq].to_vec(), word[eq + 1..].to_vec()));
        }
    }
    (argv, env)
}

fn check_command(words: &[OsString], command: &[OsString]) {
    assert!(!command.is_empty(), "empty command");
    assert!(command.len() <= words.len());
    let start = words.len() - command.len();
    assert_eq!(&words[start..], command, "the command is not argv's tail");
    let first = command[0].as_bytes();
    if first.len() >= 2 && first[0] == b'-' {
        assert!(
            start > 0 && words[start - 1] == "--",
            "{first:?} taken as the command without --"
        );
    }
}

fn check_wait(o: &Options) {
    if let Iface::Named(name) = &o.iface {
        let name = name.as_bytes();
        assert!(
            (1..=15).contains(&name.len())
                && name != b"."
                && name != b".."
                && !name
                    .iter()
                    .any(|&b| b == b'/' || b == b':' || b.is_ascii_whitespace()),
            "interface name {:?}",
            o.iface
        );
    }
    assert!(!o.expected.is_empty(), "nothing to wait for");
    assert!(o.timeout.is_none_or(|t| !t.is_zero()));
    assert_eq!(o.timeout_text, o.timeout_text.trim());
    for e in &o.expected {
        match e {
            Expect::Addr(a) => {
                let max = if a.addr.is_ipv4() { 32 } else { 128 };
                assert!(a.prefix <= max, "{a}");
            }
            Expect::Ipv4In(subnets) => assert!(!subnets.is_empty(), "{e:?}"),
            Expect::AnyIpv4 => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(argv: &[&str], env: &[&str]) -> Vec<u8> {
        let mut data = vec![argv.len() as u8];
        let words: Vec<&str> = argv.iter().chain(env).copied().collect();
        data.extend(words.join("\0").as_bytes());
        data
    }

    #[test]
    fn decoding() {
        let (argv, env) = decode(&input(&["-v", "app"], &["WEAVE_CIDR=none", "X"]));
        assert_eq!(argv, ["wait-for-weave", "-v", "app"]);
        assert_eq!(env, [(b"WEAVE_CIDR".to_vec(), b"none".to_vec())]);
        assert_eq!(decode(&[]).0, ["wait-for-weave"]);
        assert_eq!(decode(&[5]).0, ["wait-for-weave", ""]);
    }

    #[test]
    fn what_the_adapter_and_users_write() {
        for (argv, env) in [
            (
                &["/bin/sh", "-c", "echo hi"][..],
                &["WEAVE_CIDR=10.2.1.1/24"][..],
            ),
            (&["app"], &["WEAVE_CIDR=none"]),
            (&["--timeout=0.5", "--addr", "fd00::1/64", "--", "-x"], &[]),
            (&["app"], &["WEAVE_CIDR=10.2.1.1"]),
            (&["--iface", "-x", "app"], &["WAIT_FOR_WEAVE_SKIP=yes"]),
            (&["--bogus"], &["WAIT_FOR_WEAVE_QUIT=yes"]),
            (&["--help"], &[]),
        ] {
            check(&input(argv, env));
        }
    }

    #[test]
    #[should_panic(expected = "the command is not argv's tail")]
    fn the_check_can_fail() {
        let words = [OsString::from("a"), OsString::from("b")];
        check_command(&words, &[OsString::from("a")]);
    }
}
