//! `image-kit [OPTIONS] SPEC...`: writes `<out>/<name>.tar` for every image spec and
//! prints what it built (see `images::report`).
//! Exit status: 0 all built, 1 some spec failed (one line each on stderr), 2 usage error.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use argh::FromArgs;
use images::kit::{self, Options};
use images::meta::Defaults;
use images::report;
use images::spec::{check_version, Platform};
use images::time::MAX_EPOCH;

/// Build reproducible OCI image archives (also docker-archives) from image specs.
/// SOURCE_DATE_EPOCH, when set, is the image's created time and every file time (unset:
/// no created time, file times 0). The spec's own version, labels and annotations win over
/// --image-version, --source and --revision; what neither gives is left out.
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
    /// image spec files (TOML)
    #[argh(positional)]
    specs: Vec<PathBuf>,
}

/// SOURCE_DATE_EPOCH: `None` when unset or empty (as make exports a variable that expanded
/// to nothing); an error naming it when it is not a number.
fn epoch() -> Result<Option<u64>, String> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => match v.trim().parse() {
            Ok(e) if e <= MAX_EPOCH => Ok(Some(e)),
            _ => Err(format!(
                "SOURCE_DATE_EPOCH={v:?} is not a number of seconds since 1970 up to {MAX_EPOCH} \
                 (9999-12-31): set it to one, or unset it"
            )),
        },
        Err(_) => Ok(None),
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
    if let Some(Err(e)) = args.image_version.as_deref().map(check_version) {
        eprintln!("image-kit: --image-version {e}");
        return ExitCode::from(2);
    }
    let opts = Options {
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
            Ok(b) => print!("{}", report::lines(&b)),
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
