use super::*;

fn exit(args: &[&str], epoch: Option<&str>) -> (String, u8) {
    match parse(args, epoch) {
        Parsed::Exit { text, status } => (text, status),
        Parsed::Build { specs, .. } => panic!("{args:?} parsed as a build of {specs:?}"),
    }
}

fn build(args: &[&str], epoch: Option<&str>) -> (Vec<PathBuf>, Options) {
    match parse(args, epoch) {
        Parsed::Build { specs, options } => (specs, options),
        Parsed::Exit { text, status } => panic!("{args:?} exits {status}: {text}"),
    }
}

#[test]
fn usage_errors_exit_two_with_the_program_prefix_and_the_help_hint() {
    let cases: [&[&str]; 8] = [
        &["--bogus", "a.toml"],
        &["--out"],
        &["-h"],
        &[],
        &["--out", "", "a.toml"],
        &["--platforms", "linux/amd64,,linux/arm64", "a.toml"],
        &["--platforms", "amd64", "a.toml"],
        &["--image-version", "1.0 beta", "a.toml"],
    ];
    for args in cases {
        let (text, status) = exit(args, None);
        assert_eq!(status, 2, "{args:?}: {text}");
        assert!(text.starts_with("image-kit: "), "{args:?}: {text}");
        assert!(
            text.ends_with("Run image-kit --help for more information.\n"),
            "{args:?}: {text}"
        );
    }
    let (text, _) = exit(&["--out"], None);
    assert!(
        text.contains("No value provided for option '--out'"),
        "{text}"
    );
    let (text, _) = exit(&[], None);
    assert!(text.contains("no spec files given"), "{text}");
}

#[test]
fn help_and_version_exit_zero() {
    let (text, status) = exit(&["--help"], None);
    assert_eq!(status, 0);
    assert!(text.starts_with("Usage: image-kit"), "{text}");
    for word in ["--out", "--platforms", "--version", "Exit status"] {
        assert!(text.contains(word), "{word} missing from {text}");
    }
    let (text, status) = exit(&["--version"], None);
    assert_eq!(status, 0);
    assert_eq!(text, format!("image-kit {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn source_date_epoch_is_a_number_up_to_9999_or_unset() {
    for good in [None, Some(""), Some(" 17 "), Some("253402300799")] {
        let (_, o) = build(&["a.toml"], good);
        let want = good.and_then(|g| g.trim().parse().ok());
        assert_eq!(o.defaults.epoch, want, "{good:?}");
    }
    for bad in ["abc", "-5", "1.5", "253402300800"] {
        let (text, status) = exit(&["a.toml"], Some(bad));
        assert_eq!(status, 2, "{bad}");
        assert!(
            text.starts_with(&format!("image-kit: SOURCE_DATE_EPOCH={bad:?}")),
            "{text}"
        );
    }
}

#[test]
fn options_carry_what_was_given_and_empty_source_or_revision_give_nothing() {
    let (specs, o) = build(
        &[
            "--out",
            "dist",
            "--platforms",
            "linux/arm64, linux/amd64",
            "--image-version",
            "2.0",
            "--source",
            "",
            "--revision",
            "abc",
            "x.toml",
            "y.toml",
        ],
        None,
    );
    assert_eq!(specs, [PathBuf::from("x.toml"), PathBuf::from("y.toml")]);
    assert_eq!(o.out_dir, PathBuf::from("dist"));
    assert_eq!(o.target_dir, PathBuf::from("target"));
    let platforms: Vec<String> = o.platforms.unwrap().iter().map(|p| p.to_string()).collect();
    assert_eq!(platforms, ["linux/arm64/v8", "linux/amd64"]);
    assert_eq!(o.defaults.version.as_deref(), Some("2.0"));
    assert_eq!(o.defaults.source, None);
    assert_eq!(o.defaults.revision.as_deref(), Some("abc"));
    let (text, _) = exit(&["--platforms", "linux/amd64,linux/amd64", "a.toml"], None);
    assert!(
        text.contains("platform \"linux/amd64\" is listed twice"),
        "{text}"
    );
}
