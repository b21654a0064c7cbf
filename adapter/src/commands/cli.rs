//! The command line of `powerstrip-weave`: argh parses, this module decides what a usage
//! error, `--help` and `--version` print and with which exit status (the waiter's
//! convention: 0 for help and version on stdout, 2 for usage errors on stderr).

use argh::FromArgs;

/// The program name used in messages and usage.
pub const PROGRAM: &str = "powerstrip-weave";

/// powerstrip-weave: make containers wait for their Weave-style network (ethwe).
#[derive(FromArgs, Debug)]
pub struct Cli {
    /// print the version and exit
    #[argh(switch)]
    pub version: bool,
    #[argh(subcommand)]
    pub command: Option<Command>,
}

/// One subcommand per job.
#[derive(FromArgs, Debug)]
#[argh(subcommand)]
pub enum Command {
    /// `adapter`: serve the powerstrip adapter protocol.
    Adapter(super::adapter::AdapterArgs),
    /// `launch`: make sure the volume container exists, then serve like `adapter`.
    Launch(super::launch::LaunchArgs),
    /// `attach`: attach one running container with the native backend.
    Attach(super::attach::AttachArgs),
    /// `proxy`: the Docker API proxy.
    Proxy(super::proxy::ProxyArgs),
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Parsed {
    /// Run this subcommand.
    Run(Box<Command>),
    /// Print `text` (to stdout when `status` is 0, else to stderr) and exit with `status`.
    Exit {
        /// The text to print, ending in a newline.
        text: String,
        /// The exit status: 0 for `--help`/`--version`, 2 for a usage error.
        status: i32,
    },
}

/// Parses the arguments after the program name (`std::env::args().skip(1)`).
///
/// `--help` (also of a subcommand) and `--version` give status 0; an unknown flag, a bad
/// value or a missing subcommand give status 2 with argh's message prefixed by
/// `powerstrip-weave: `.
pub fn parse(args: &[&str]) -> Parsed {
    match Cli::from_args(&[PROGRAM], args) {
        Ok(Cli { version: true, .. }) => Parsed::Exit {
            text: format!("{PROGRAM} {}\n", env!("CARGO_PKG_VERSION")),
            status: 0,
        },
        Ok(Cli {
            command: Some(command),
            ..
        }) => Parsed::Run(Box::new(command)),
        Ok(Cli { command: None, .. }) => {
            usage_error("give a subcommand: adapter, launch, attach or proxy")
        }
        Err(argh::EarlyExit {
            output,
            status: Ok(()),
        }) => Parsed::Exit {
            text: with_newline(output),
            status: 0,
        },
        Err(argh::EarlyExit {
            output,
            status: Err(()),
        }) => usage_error(&output),
    }
}

/// argh's `from_env` hint, which `from_args` leaves out.
fn usage_error(message: &str) -> Parsed {
    Parsed::Exit {
        text: format!(
            "{PROGRAM}: {}\nRun {PROGRAM} --help for more information.\n",
            message.trim_end()
        ),
        status: 2,
    }
}

fn with_newline(mut text: String) -> String {
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exit(args: &[&str]) -> (String, i32) {
        match parse(args) {
            Parsed::Exit { text, status } => (text, status),
            Parsed::Run(c) => panic!("{args:?} parsed as {c:?}"),
        }
    }

    #[test]
    fn version_prints_name_and_version() {
        let (text, status) = exit(&["--version"]);
        assert_eq!(
            text,
            format!("powerstrip-weave {}\n", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(status, 0);
    }

    #[test]
    fn help_exits_zero_and_lists_subcommands_and_version() {
        let (text, status) = exit(&["--help"]);
        assert_eq!(status, 0);
        assert!(text.starts_with("Usage: powerstrip-weave"), "{text}");
        for word in ["--version", "adapter", "launch", "attach", "proxy"] {
            assert!(text.contains(word), "{word} missing from {text}");
        }
        let (text, status) = exit(&["attach", "--help"]);
        assert_eq!(status, 0);
        assert!(text.contains("--bridge"), "{text}");
    }

    #[test]
    fn usage_errors_exit_two_with_the_program_prefix() {
        for args in [&["--bogus"][..], &[], &["adapter", "--bogus"], &["nosuch"]] {
            let (text, status) = exit(args);
            assert_eq!(status, 2, "{args:?}: {text}");
            assert!(text.starts_with("powerstrip-weave: "), "{args:?}: {text}");
            assert!(text.contains("--help"), "{args:?}: {text}");
        }
        let (text, _) = exit(&[]);
        assert!(text.contains("give a subcommand"), "{text}");
    }

    #[test]
    fn a_subcommand_runs() {
        let Parsed::Run(command) = parse(&["attach", "10.255.0.51/24", "web-1"]) else {
            panic!("attach did not parse");
        };
        assert!(matches!(*command, Command::Attach(_)));
    }
}
