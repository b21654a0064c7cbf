//! Reproducibility of the real `image-kit` binary: two builds of every image from copies of
//! the inputs with different file mtimes and permissions, under different umasks and time
//! zones, give byte-identical archives and blobs; SOURCE_DATE_EPOCH is the only clock.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use e2e::{kit, prereq};
use images::layout::blob_path;
use images::oci::{ImageConfig, Manifest};

const SPECS: [&str; 3] = ["weavewait", "weavewait-example", "powerstrip-weave"];
const BINARIES: [&str; 3] = ["wait-for-weave", "weavewait-example", "powerstrip-weave"];

fn kit_bin() -> PathBuf {
    prereq::workspace_root().join("target/release/image-kit")
}

fn ready() -> bool {
    prereq::require(
        kit_bin().exists(),
        "target/release/image-kit (run `make images`)",
    ) && BINARIES.iter().all(|b| {
        prereq::require(
            prereq::static_bin(b).exists(),
            &format!("static binary {b} (run `make static`)"),
        )
    }) && prereq::require(
        Path::new("/bin/busybox").exists(),
        "/bin/busybox (Debian package busybox-static)",
    )
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("command runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Copies every input into `dir` (binaries under target/, specs under specs/, busybox
/// next to its spec), then sets every mtime to `mtime` (`touch -d` syntax) and the
/// binaries' permissions to `perm`. Returns the spec paths.
fn stage(dir: &Path, mtime: &str, perm: &str) -> Vec<PathBuf> {
    for bin in BINARIES {
        let built = dir
            .join("target/x86_64-unknown-linux-musl")
            .join(prereq::profile_of(bin));
        std::fs::create_dir_all(&built).unwrap();
        std::fs::copy(prereq::static_bin(bin), built.join(bin)).unwrap();
        run(Command::new("chmod").arg(perm).arg(built.join(bin)));
    }
    let specs_dir = dir.join("specs");
    std::fs::create_dir_all(&specs_dir).unwrap();
    let mut specs = Vec::new();
    for name in SPECS {
        let src = prereq::workspace_root().join(format!("images/{name}.toml"));
        let dst = specs_dir.join(format!("{name}.toml"));
        std::fs::copy(src, &dst).unwrap();
        specs.push(dst);
    }
    // The busybox test image with its host file relative to the spec, so both copies differ.
    let busybox =
        std::fs::read_to_string(prereq::workspace_root().join("tests/images/busybox.toml"))
            .unwrap()
            .replace("host = \"/bin/busybox\"", "host = \"busybox\"");
    std::fs::write(specs_dir.join("busybox.toml"), busybox).unwrap();
    std::fs::copy("/bin/busybox", specs_dir.join("busybox")).unwrap();
    specs.push(specs_dir.join("busybox.toml"));
    run(Command::new("find")
        .arg(dir)
        .args(["-exec", "touch", "-h", "-d", mtime, "{}", "+"]));
    specs
}

/// Runs image-kit under `sh -c 'umask …; exec …'` with TZ and SOURCE_DATE_EPOCH set.
fn build(dir: &Path, specs: &[PathBuf], umask: &str, tz: &str, epoch: u64) -> String {
    let out = run(Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
        .arg(kit_bin())
        .arg("--out")
        .arg(dir.join("out"))
        .arg("--target-dir")
        .arg(dir.join("target"))
        .args(["--image-version", "9.9.9", "--revision", "0123abcd"])
        .args(specs)
        .env("TZ", tz)
        .env("SOURCE_DATE_EPOCH", epoch.to_string()));
    String::from_utf8(out.stdout).unwrap()
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn two_builds_with_different_mtimes_umask_and_tz_are_byte_identical() {
    if !ready() {
        return;
    }
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let specs_a = stage(a.path(), "@0", "0755");
    let specs_b = stage(b.path(), "2031-07-04 12:34:56", "0700");
    let epoch = 1_700_000_000;
    let report_a = build(a.path(), &specs_a, "022", "UTC", epoch);
    let report_b = build(b.path(), &specs_b, "077", "Asia/Kathmandu", epoch);
    let digests = |report: &str| -> Vec<String> {
        report
            .lines()
            .filter(|l| !l.starts_with(' '))
            .map(|l| l.split_whitespace().nth(2).unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(digests(&report_a), digests(&report_b));
    assert_eq!(digests(&report_a).len(), 4, "{report_a}");

    for name in SPECS.iter().copied().chain(["pw-test-busybox"]) {
        let (ta, tb) = (
            a.path().join(format!("out/{name}.tar")),
            b.path().join(format!("out/{name}.tar")),
        );
        assert_eq!(
            (mode(&ta), mode(&tb)),
            (0o644, 0o644),
            "{name}: archive mode"
        );
        let (fa, fb) = (kit::archive_files(&ta), kit::archive_files(&tb));
        assert_eq!(
            fa.keys().collect::<Vec<_>>(),
            fb.keys().collect::<Vec<_>>(),
            "{name}: same files"
        );
        for (path, bytes) in &fa {
            assert!(
                bytes == &fb[path],
                "{name}: {path} differs between the builds"
            );
            if let Some(hex) = path.strip_prefix("blobs/sha256/") {
                assert_eq!(
                    kit::digest(bytes),
                    format!("sha256:{hex}"),
                    "{name}: {path}"
                );
            }
        }
        assert!(
            std::fs::read(&ta).unwrap() == std::fs::read(&tb).unwrap(),
            "{name}: archives differ"
        );

        // The time fields come from SOURCE_DATE_EPOCH, whatever TZ says.
        let root = kit::root_descriptor(&ta);
        let manifest: Manifest = serde_json::from_slice(&fa[&blob_path(&root.digest)]).unwrap();
        let config: ImageConfig =
            serde_json::from_slice(&fa[&blob_path(&manifest.config.digest)]).unwrap();
        assert_eq!(config.created.as_deref(), Some("2023-11-14T22:13:20Z"));
        assert_eq!(
            config.config.labels["org.opencontainers.image.created"],
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            config.config.labels["org.opencontainers.image.revision"],
            "0123abcd"
        );
        assert_eq!(
            config.config.labels["org.opencontainers.image.version"],
            "9.9.9"
        );
        // No --source was given: the kit claims none.
        assert!(
            !config
                .config
                .labels
                .contains_key("org.opencontainers.image.source"),
            "{name}: {:?}",
            config.config.labels
        );
    }
}

#[test]
fn source_date_epoch_changes_the_digest_and_nothing_else_does() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let specs = stage(dir.path(), "@0", "0755");
    let first = build(dir.path(), &specs[..1], "022", "UTC", 1);
    let again = build(dir.path(), &specs[..1], "022", "UTC", 1);
    let later = build(dir.path(), &specs[..1], "022", "UTC", 2);
    // The first line of the report: NAME ARCHIVE DIGEST TAG…
    let digest = |r: &str| r.split_whitespace().nth(2).unwrap_or_default().to_string();
    assert!(digest(&first).starts_with("sha256:"), "{first}");
    assert_eq!(digest(&first), digest(&again));
    assert_ne!(digest(&first), digest(&later));
}
