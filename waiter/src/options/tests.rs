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

fn addr(s: &str) -> Expect {
    let (a, p) = s.split_once('/').unwrap();
    Expect::Addr(IfAddr {
        addr: a.parse().unwrap(),
        prefix: p.parse().unwrap(),
    })
}

fn inside(subnets: &[&str]) -> Expect {
    Expect::Ipv4In(
        subnets
            .iter()
            .map(|s| cidr::parse_subnet(s).unwrap())
            .collect(),
    )
}

fn named(name: &str) -> Iface {
    Iface::Named(name.to_string())
}

fn usage(words: &[&str], env: &[(&str, &str)]) -> String {
    run(words, env).unwrap_err().0
}

#[test]
fn defaults() {
    let o = wait(&["app"], &[]);
    assert_eq!(o.iface, named("ethwe"));
    assert_eq!(o.expected, vec![Expect::AnyIpv4]);
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
    assert_eq!(o.iface, named("weave1"));
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
    assert_eq!(o.iface, named("-x"));
    let o = wait(&["--iface=eth1", "--addr=10.0.0.1/8", "app"], &[]);
    assert_eq!(o.iface, named("eth1"));
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
    assert_eq!(o.iface, named("weave7"));
    assert_eq!(
        o.expected,
        vec![
            addr("10.2.1.1/24"),
            inside(&["10.3.0.0/16"]),
            addr("10.2.1.2/24")
        ]
    );
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
    assert_eq!(o.iface, named("a"));
    assert_eq!(o.expected, vec![addr("fd00::1/64"), addr("10.0.0.1/8")]);
    assert_eq!(o.timeout_text, "1");
}

#[test]
fn default_allocations_mean_any_ipv4() {
    for v in ["", " ", "net:default", "net:default net:default"] {
        let o = wait(&["app"], &[("WEAVE_CIDR", v)]);
        assert_eq!(o.expected, vec![Expect::AnyIpv4], "{v:?}");
    }
}

#[test]
fn net_items_mean_an_ipv4_address_inside_them() {
    let o = wait(
        &["app"],
        &[(
            "WEAVE_CIDR",
            "net:10.3.0.0/16 net:default net:10.3.0.0/16 10.9.0.1/8",
        )],
    );
    assert_eq!(
        o.expected,
        vec![
            inside(&["10.3.0.0/16"]),
            Expect::AnyIpv4,
            addr("10.9.0.1/8")
        ],
        "in order, without duplicates"
    );
}

#[test]
fn default_subnets_bound_net_default() {
    for (words, env) in [
        (
            &[
                "--default-subnet",
                "10.255.0.0/16",
                "--default-subnet=10.9.0.0/24",
                "app",
            ][..],
            &[("WEAVE_CIDR", "net:default")][..],
        ),
        (
            &["app"],
            &[
                ("WEAVE_CIDR", ""),
                (
                    "WAIT_FOR_WEAVE_DEFAULT_SUBNET",
                    " 10.255.0.0/16\t10.9.0.0/24 ",
                ),
            ],
        ),
        (
            &["app"],
            &[("WAIT_FOR_WEAVE_DEFAULT_SUBNET", "10.255.0.0/16 10.9.0.0/24")],
        ),
    ] {
        let o = wait(words, env);
        assert_eq!(
            o.expected,
            vec![inside(&["10.255.0.0/16", "10.9.0.0/24"])],
            "{words:?} {env:?}"
        );
    }
    // The option wins over the variable; exact and net:S items are not touched.
    let o = wait(
        &["--default-subnet", "10.1.0.0/16", "app"],
        &[
            ("WEAVE_CIDR", "10.2.0.5/16 net:10.3.0.0/16 net:default"),
            ("WAIT_FOR_WEAVE_DEFAULT_SUBNET", "10.9.0.0/16"),
        ],
    );
    assert_eq!(
        o.expected,
        vec![
            addr("10.2.0.5/16"),
            inside(&["10.3.0.0/16"]),
            inside(&["10.1.0.0/16"])
        ]
    );
    // An empty variable is no default subnet.
    let o = wait(&["app"], &[("WAIT_FOR_WEAVE_DEFAULT_SUBNET", "")]);
    assert_eq!(o.expected, vec![Expect::AnyIpv4]);
}

#[test]
fn iface_any() {
    for (words, env) in [
        (
            &["--iface", "any", "app"][..],
            &[("WEAVE_CIDR", "10.2.1.1/24")][..],
        ),
        (
            &["app"],
            &[
                ("WAIT_FOR_WEAVE_IFACE", "any"),
                ("WEAVE_CIDR", "10.2.1.1/24"),
            ],
        ),
        (&["--iface=any", "--addr", "10.2.1.1/24", "app"], &[]),
    ] {
        let o = wait(words, env);
        assert_eq!(o.iface, Iface::Any, "{words:?}");
        assert_eq!(o.expected, vec![addr("10.2.1.1/24")]);
    }
    let o = wait(
        &["--iface", "any", "app"],
        &[("WEAVE_CIDR", "net:10.3.0.0/16")],
    );
    assert_eq!(o.expected, vec![inside(&["10.3.0.0/16"])]);
    let o = wait(
        &["--iface", "any", "app"],
        &[
            ("WEAVE_CIDR", ""),
            ("WAIT_FOR_WEAVE_DEFAULT_SUBNET", "10.255.0.0/16"),
        ],
    );
    assert_eq!(o.expected, vec![inside(&["10.255.0.0/16"])]);
}

#[test]
fn iface_any_refuses_any_ipv4_naming_the_inputs_and_the_fix() {
    for (words, env, names) in [
        (
            &["--iface", "any", "app"][..],
            &[("WEAVE_CIDR", "")][..],
            "--iface any with WEAVE_CIDR \"\" waits for any IPv4 address",
        ),
        (
            &["app"],
            &[
                ("WAIT_FOR_WEAVE_IFACE", "any"),
                ("WEAVE_CIDR", "net:default"),
            ],
            "WAIT_FOR_WEAVE_IFACE=any with WEAVE_CIDR \"net:default\" waits",
        ),
        (
            &["--iface", "any", "app"],
            &[("WEAVE_CIDR", "10.2.1.1/24 net:default")],
            "WEAVE_CIDR \"10.2.1.1/24 net:default\"",
        ),
        (
            &["--iface", "any", "app"],
            &[],
            "--iface any with no WEAVE_CIDR and no --addr waits",
        ),
    ] {
        let err = usage(words, env);
        assert!(err.contains(names), "{err}");
        for fix in [
            "Docker's eth0",
            "set WAIT_FOR_WEAVE_DEFAULT_SUBNET (or --default-subnet)",
            "net:SUBNET or exact addresses in WEAVE_CIDR",
            "--iface",
        ] {
            assert!(err.contains(fix), "{fix}: {err}");
        }
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
    let err = usage(&["app"], &[("WEAVE_CIDR", "10.2.1.1")]);
    assert!(
        err.starts_with("invalid WEAVE_CIDR \"10.2.1.1\": missing /prefix; expected "),
        "{err}"
    );
    let err = usage(&["app"], &[("WEAVE_CIDR", "10.77.0.86/24,10.77.0.87/24")]);
    assert_eq!(
        err,
        "invalid WEAVE_CIDR \"10.77.0.86/24,10.77.0.87/24\": separate items with spaces, \
         not commas: \"10.77.0.86/24 10.77.0.87/24\""
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
            "invalid --addr \"10.0.0.1\": missing /prefix; \
             expected a.b.c.d/n or ip:a.b.c.d/n (or an IPv6 address/n)",
        ),
        (
            &["--addr", "none", "app"],
            &[],
            "invalid --addr \"none\": it names no address",
        ),
        (
            &["--addr", "10.77.0.86/24,10.77.0.87/24", "app"],
            &[],
            "one address per --addr; repeat the option: \
             \"--addr 10.77.0.86/24 --addr 10.77.0.87/24\"",
        ),
        (
            &["--addr", "fe80::1/64", "app"],
            &[],
            "invalid --addr \"fe80::1/64\": fe80::/10 is link-local, which never counts \
             (every link has one), so it can never make the interface ready; give a global \
             or unique-local IPv6 address, e.g. fd00::51/64",
        ),
        (&["--addr", "febf::1/10", "app"], &[], "link-local"),
        (&["--addr", "ff02::1/128", "app"], &[], "multicast"),
        (&["--addr", "::1/128", "app"], &[], "loopback"),
        (&["--addr", "::/0", "app"], &[], "unspecified"),
        (
            &["--default-subnet", "10.255.0.1/16", "app"],
            &[],
            "invalid --default-subnet \"10.255.0.1/16\": host bits are set; \
             did you mean 10.255.0.0/16?",
        ),
        (
            &["app"],
            &[("WAIT_FOR_WEAVE_DEFAULT_SUBNET", "10.255.0.0/16,10.9.0.0/16")],
            "invalid WAIT_FOR_WEAVE_DEFAULT_SUBNET \"10.255.0.0/16,10.9.0.0/16\"",
        ),
        (&["--addr", "fd00::1/129", "app"], &[], "IPv6 prefix"),
        (
            &["--iface", "a/b", "app"],
            &[],
            "invalid --iface \"a/b\": give an interface name of 1 to 15 bytes without '/', \
             ':' or spaces, or any",
        ),
        (
            &["--iface", "sixteen-bytes-xx", "app"],
            &[],
            "1 to 15 bytes",
        ),
        (
            &["app"],
            &[("WAIT_FOR_WEAVE_IFACE", "a b")],
            "invalid WAIT_FOR_WEAVE_IFACE \"a b\"",
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
fn ipv6_addresses_that_can_be_ready() {
    let o = wait(
        &["--addr", "fd00::51/64", "--addr", "2001:db8::1/128", "app"],
        &[],
    );
    assert_eq!(
        o.expected,
        vec![addr("fd00::51/64"), addr("2001:db8::1/128")]
    );
}

#[test]
fn huge_inputs_are_quoted_once_and_cut() {
    let junk = "x".repeat(100 * 1024);
    let slash = format!("{junk}/8");
    for (words, env) in [
        (vec!["app"], vec![("WEAVE_CIDR", junk.as_str())]),
        (vec!["app"], vec![("WEAVE_CIDR", slash.as_str())]),
        (vec!["--addr", junk.as_str(), "app"], vec![]),
        (vec!["--addr", slash.as_str(), "app"], vec![]),
        (vec!["--timeout", junk.as_str(), "app"], vec![]),
        (vec!["--iface", junk.as_str(), "app"], vec![]),
        (vec!["--default-subnet", slash.as_str(), "app"], vec![]),
        (vec!["app"], vec![("WAIT_FOR_SECONDS", junk.as_str())]),
        (vec!["app"], vec![("WAIT_FOR_WEAVE_IFACE", junk.as_str())]),
        (
            vec!["app"],
            vec![("WAIT_FOR_WEAVE_DEFAULT_SUBNET", junk.as_str())],
        ),
    ] {
        let err = usage(&words, &env);
        assert!(err.len() < 600, "{} bytes: {}", err.len(), &err[..600]);
        assert!(err.contains("... (102"), "{err}");
    }
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

#[test]
fn a_refused_word_with_a_newline_keeps_the_message_on_one_line() {
    let err = run(&["--x\ny", "app"], &[]).unwrap_err();
    assert!(
        err.0.starts_with("Unrecognized argument: --x\\ny; usage: "),
        "{err}"
    );
}
