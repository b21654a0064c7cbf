//! `image-kit [OPTIONS] SPEC...`: writes `<out>/<name>.tar` for every image spec.
//! Exit status: 0 all built, 1 some spec failed (one line each on stderr), 2 usage error.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use argh::FromArgs;
use images::kit::{self, Options};
use images::layout::Meta;
use images::spec::Platform;

/// Build reproducible OCI image archives (also docker-archives) from image specs.
/// Every time field comes from SOURCE_DATE_EPOCH (default: the last commit's time).
#[derive(FromArgs)]
struct Args {
    /// output directory (default: target/images)
    #[argh(option, default = "PathBuf::from(\"target/images\")")]
    out: PathBuf,
    /// cargo target directory holding <rust target>/<profile>/<binary> (default: target)
    #[argh(option, default = "PathBuf::from(\"target\")")]
    target_dir: PathBuf,
    /// comma-separated platforms for every spec, e.g. linux/amd64,linux/arm64
    /// (default: each spec's own, else linux/amd64)
    #[argh(option)]
    platforms: Option<String>,
    /// version: second tag and org.opencontainers.image.version (default: the kit's)
    #[argh(option)]
    image_version: Option<String>,
    /// source revision for org.opencontainers.image.revision (default: git rev-parse HEAD)
    #[argh(option)]
    revision: Option<String>,
    /// source URL for org.opencontainers.image.source (default: the project's repository)
    #[argh(option)]
    source: Option<String>,
    /// image spec files (TOML)
    #[argh(positional)]
    specs: Vec<PathBuf>,
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn epoch() -> Result<u64, String> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds since 1970")),
        Err(_) => Ok(git(&["log", "-1", "--format=%ct"])
            .and_then(|t| t.parse().ok())
            .unwrap_or(0)),
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

fn main() -> ExitCode {
    let args: Args = argh::from_env();
    if args.specs.is_empty() {
        eprintln!("image-kit: no spec files given (e.g. image-kit images/weavewait.toml)");
        return ExitCode::from(2);
    }
    let platforms = match &args.platforms {
        None => None,
        Some(list) => match parse_platforms(list) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("image-kit: --platforms: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let epoch = match epoch() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("image-kit: {e}");
            return ExitCode::from(2);
        }
    };
    let version = args
        .image_version
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string());
    let opts = Options {
        out_dir: args.out,
        target_dir: args.target_dir,
        platforms,
        meta: Meta {
            epoch,
            revision: args
                .revision
                .or_else(|| git(&["rev-parse", "HEAD"]))
                .unwrap_or_else(|| "unknown".into()),
            source: args
                .source
                .unwrap_or_else(|| env!("CARGO_PKG_REPOSITORY").to_string()),
            tags: kit::default_tags(&version),
            version,
        },
    };
    let mut failed = false;
    // Two specs with one image name would overwrite each other's archive.
    let mut names: BTreeMap<String, &PathBuf> = BTreeMap::new();
    for spec in &args.specs {
        if let Ok(parsed) = kit::read_spec(spec) {
            if let Some(first) = names.get(&parsed.name) {
                eprintln!(
                    "image-kit: {}: name: image {:?} is already built by {}",
                    spec.display(),
                    parsed.name,
                    first.display()
                );
                failed = true;
                continue;
            }
            names.insert(parsed.name, spec);
        }
        match kit::build_spec_file(spec, &opts) {
            Ok(b) => println!(
                "{} {} {} refs={} archive={} payload={} layers={} overhead={}",
                b.name,
                b.archive.display(),
                b.root.digest,
                b.refs.join(","),
                b.archive_bytes,
                b.payload_bytes,
                b.layer_bytes,
                b.archive_bytes as i64 - b.payload_bytes as i64
            ),
            Err(e) => {
                eprintln!("image-kit: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
