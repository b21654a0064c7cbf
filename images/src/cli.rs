//! The command line of `image-kit`: argh parses, this module checks the options and decides
//! what `--help`, `--version` and a usage error print and with which exit status (the
//! project's convention: 0 for help and version on stdout, 2 for usage errors on stderr).
//! No I/O: SOURCE_DATE_EPOCH comes in as a value.

use std::path::PathBuf;

use argh::FromArgs;

use crate::kit::Options;
use crate::meta::Defaults;
use crate::spec::{check_version, Platform};
use crate::time::MAX_EPOCH;

/// The program name used in messages and usage.
pub const PROGRAM: &str = "image-kit";

/// Build reproducible OCI image archives (also docker-archives) from image specs.
/// SOURCE_DATE_EPOCH, when set, is the image's created time and every file time (unset:
/// no created time, file times 0). The spec's own version, labels and annotations win over
/// --image-version, --source and --revision; what neither gives is left out.
/// Exit status: 0 all built, 1 some spec failed, 2 usage error.
#[derive(FromArgs, Debug)]
struct Args {
    /// output directory, created if missing (default: target/images)
    #[argh(option, default = "PathBuf::from(\"target/images\")")]
    out: PathBuf,
    /// cargo target directory holding <rust target>/<profile>/<binary> (default: target)
    #[argh(option, default = "PathBuf::from(\"target\")")]
    target_dir: PathBuf,
    /// comma-separated platforms for every spec, e.g. linux/amd64,linux/arm64
    /// (default: each spec's own, else linux/amd64)
    #[argh(option)]
    platforms: Option<String>,
    /// version for specs without `version`: second tag and org.opencontainers.image.version
    /// (default: none, tag latest only)
    #[argh(option)]
    image_version: Option<String>,
    /// org.opencontainers.image.revision for specs that do not set it, e.g. a git commit
    /// (default: none)
    #[argh(option)]
    revision: Option<String>,
    /// org.opencontainers.image.source for specs that do not set it, a repository URL
    /// (default: none)
    #[argh(option)]
    source: Option<String>,
    /// print the version and exit
    #[argh(switch)]
    version: bool,
    /// image spec files (TOML)
    #[argh(positional)]
    specs: Vec<PathBuf>,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Parsed {
    /// Build these spec files with these options.
    Build {
        /// The spec files, in command-line order.
        specs: Vec<PathBuf>,
        /// How to build them.
        options: Options,
    },
    /// Print `text` (to stdout when `status` is 0, else to stderr) and exit with `status`.
    Exit {
        /// The text to print, ending in a newline.
        text: String,
        /// The exit status: 0 for `--help`/`--version`, 2 for a usage error.
        status: u8,
    },
}

/// Parses the arguments after the program name, with `source_date_epoch` the value of
/// SOURCE_DATE_EPOCH (`None` when unset).
///
/// `--help` and `--version` give status 0; an unknown flag, a missing value, no spec, a bad
/// `--platforms`, `--image-version` or SOURCE_DATE_EPOCH give status 2 with a message
/// prefixed by `image-kit: `.
pub fn parse(args: &[&str], source_date_epoch: Option<&str>) -> Parsed {
    let args = match Args::from_args(&[PROGRAM], args) {
        Ok(a) => a,
        Err(argh::EarlyExit {
            output,
            status: Ok(()),
        }) => {
            return Parsed::Exit {
                text: format!("{}\n", output.trim_end()),
                status: 0,
            }
        }
        Err(argh::EarlyExit {
            output,
            status: Err(()),
        }) => return usage_error(&output),
    };
    if args.version {
        return Parsed::Exit {
            text: format!("{PROGRAM} {}\n", env!("CARGO_PKG_VERSION")),
            status: 0,
        };
    }
    if args.specs.is_empty() {
        return usage_error("no spec files given (e.g. image-kit images/weavewait.toml)");
    }
    if args.out.as_os_str().is_empty() {
        return usage_error("--out \"\": name a directory, e.g. --out dist");
    }
    let platforms = match args.platforms.as_deref().map(parse_platforms).transpose() {
        Ok(p) => p,
        Err(e) => return usage_error(&format!("--platforms: {e}")),
    };
    let epoch = match epoch(source_date_epoch) {
        Ok(e) => e,
        Err(e) => return usage_error(&e),
    };
    if let Some(Err(e)) = args.image_version.as_deref().map(check_version) {
        return usage_error(&format!("--image-version {e}"));
    }
    Parsed::Build {
        specs: args.specs,
        options: Options {
            out_dir: args.out,
            target_dir: args.target_dir,
            platforms,
            defaults: Defaults {
                epoch,
                version: args.image_version,
                // An empty value (e.g. an unset make variable) gives nothing to stamp.
                source: args.source.filter(|s| !s.is_empty()),
                revision: args.revision.filter(|r| !r.is_empty()),
            },
            tags: None,
        },
    }
}

fn usage_error(message: &str) -> Parsed {
    Parsed::Exit {
        text: format!(
            "{PROGRAM}: {}\nRun {PROGRAM} --help for more information.\n",
            message.trim_end()
        ),
        status: 2,
    }
}

/// SOURCE_DATE_EPOCH: `None` when unset or empty (as make exports a variable that expanded
/// to nothing); an error naming it when it is not a number.
fn epoch(value: Option<&str>) -> Result<Option<u64>, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => match v.parse() {
            Ok(e) if e <= MAX_EPOCH => Ok(Some(e)),
            _ => Err(format!(
                "SOURCE_DATE_EPOCH={v:?} is not a number of seconds since 1970 up to {MAX_EPOCH} \
                 (9999-12-31): set it to one, or unset it"
            )),
        },
    }
}

/// `linux/amd64,linux/arm64` → platforms, in order; a platform listed twice is an error.
fn parse_platforms(list: &str) -> Result<Vec<Platform>, String> {
    let mut platforms: Vec<Platform> = Vec::new();
    for item in list.split(',') {
        let p = Platform::parse(item.trim())?;
        if platforms.contains(&p) {
            return Err(format!("platform {:?} is listed twice", item.trim()));
        }
        platforms.push(p);
    }
    Ok(platforms)
}

#[cfg(test)]
mod tests;
