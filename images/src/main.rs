//! `image-kit [OPTIONS] SPEC...`: writes `<out>/<name>.tar` for every image spec and
//! prints what it built (see `images::report`).
//! Exit status: 0 all built, 1 some spec failed (one line each on stderr), 2 usage error
//! (see `images::cli`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use images::cli::{self, Parsed};
use images::kit;
use images::report;

fn main() -> ExitCode {
    let argv: Vec<String> = match std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect()
    {
        Ok(argv) => argv,
        Err(arg) => {
            eprintln!(
                "{}: argument {:?} is not UTF-8: rename the file or pass a UTF-8 path",
                cli::PROGRAM,
                arg.to_string_lossy()
            );
            return ExitCode::from(2);
        }
    };
    let args: Vec<&str> = argv.iter().map(String::as_str).collect();
    let epoch = std::env::var("SOURCE_DATE_EPOCH").ok();
    let (specs, opts) = match cli::parse(&args, epoch.as_deref()) {
        Parsed::Build { specs, options } => (specs, options),
        Parsed::Exit { text, status: 0 } => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Parsed::Exit { text, status } => {
            eprint!("{text}");
            return ExitCode::from(status);
        }
    };
    if opts.out_dir.exists() && !opts.out_dir.is_dir() {
        eprintln!(
            "{}: --out {}: not a directory: name a directory (created if missing)\nRun {} --help for more information.",
            cli::PROGRAM,
            opts.out_dir.display(),
            cli::PROGRAM
        );
        return ExitCode::from(2);
    }
    let mut failed = false;
    // Two specs with one image name would overwrite each other's archive.
    let mut names: BTreeMap<String, &PathBuf> = BTreeMap::new();
    for spec in &specs {
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
