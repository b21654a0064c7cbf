//! Multi-platform images (linux/amd64 + linux/arm64): an image index that skopeo, a real
//! registry and `docker pull` keep unchanged, a docker-archive side that loads the amd64
//! image, and arm64 binaries (built with rust-lld, no C cross-compiler) that run under
//! Debian's qemu-user-static.

use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::docker::{docker, docker_ok, unique, Cleanup};
use e2e::registry::{skopeo_ok, Registry};
use e2e::{kit, prereq};
use images::kit::Built;
use images::layout::blob_path;
use images::oci::{Index, Manifest, MEDIA_INDEX};
use images::spec::Platform;
use serde_json::Value;

const TAG: &str = "e2e-multi";

fn arm64_bin(name: &str) -> PathBuf {
    prereq::workspace_root()
        .join("target/aarch64-unknown-linux-musl")
        .join(prereq::profile_of(name))
        .join(name)
}

fn binaries_ready() -> bool {
    ["wait-for-weave", "weavewait-example"].iter().all(|b| {
        prereq::require(
            prereq::static_bin(b).exists(),
            &format!("static binary {b} (run `make static`)"),
        ) && prereq::require(
            arm64_bin(b).exists(),
            &format!("arm64 binary {b} (run `make static-arm64`)"),
        )
    })
}

/// Builds `images/<name>.toml` for linux/amd64 and linux/arm64, tagged `e2e-multi`.
fn build_multi(name: &str, out: &Path) -> Built {
    let mut opts = kit::options(out);
    opts.platforms = Some(vec![
        Platform::parse("linux/amd64").unwrap(),
        Platform::parse("linux/arm64").unwrap(),
    ]);
    opts.tags = Some(vec![TAG.into()]);
    kit::build_with(Path::new(&format!("images/{name}.toml")), &opts)
}

fn platform_manifests(archive: &Path) -> (Index, Vec<Manifest>) {
    let files = kit::archive_files(archive);
    let root = kit::root_descriptor(archive);
    assert_eq!(root.media_type, MEDIA_INDEX);
    let index: Index = serde_json::from_slice(&files[&blob_path(&root.digest)]).unwrap();
    let manifests = index
        .manifests
        .iter()
        .map(|d| serde_json::from_slice(&files[&blob_path(&d.digest)]).unwrap())
        .collect();
    (index, manifests)
}

#[test]
fn arm64_binaries_from_the_image_run_under_qemu() {
    if !binaries_ready()
        || !prereq::require(
            prereq::command_works("qemu-aarch64-static", &["--version"]),
            "qemu-aarch64-static (Debian package qemu-user-static)",
        )
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let built = build_multi("weavewait-example", dir.path());
    let (index, manifests) = platform_manifests(&built.archive);
    let arm = index
        .manifests
        .iter()
        .position(|d| d.platform.as_ref().unwrap().architecture == "arm64")
        .expect("an arm64 manifest");

    // Unpack the arm64 layer as a container runtime would, and run its binary.
    let files = kit::archive_files(&built.archive);
    let layer = dir.path().join("arm64-layer.tar.gz");
    std::fs::write(&layer, &files[&blob_path(&manifests[arm].layers[0].digest)]).unwrap();
    let rootfs = dir.path().join("rootfs");
    std::fs::create_dir(&rootfs).unwrap();
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&layer)
        .arg("-C")
        .arg(&rootfs)
        .status()
        .unwrap();
    assert!(status.success());
    assert_arm64_static_runs(&rootfs.join("weavewait-example"), "weavewait-example");

    // The waiter of the arm64 weavewait image is an arm64 static binary too, and runs.
    assert_arm64_static_runs(&arm64_bin("wait-for-weave"), "wait-for-weave");
}

/// `file` says `bin` is a static arm64 executable, and it prints `<name> <version>` for
/// `--version` under qemu-aarch64-static.
fn assert_arm64_static_runs(bin: &Path, name: &str) {
    let file = Command::new("file").arg(bin).output().unwrap();
    let file = String::from_utf8_lossy(&file.stdout);
    assert!(
        file.contains("ARM aarch64") && file.contains("statically linked"),
        "{file}"
    );
    let out = Command::new("timeout")
        .args(["30", "qemu-aarch64-static"])
        .arg(bin)
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{name} {}", kit::version())
    );
}

#[test]
fn multi_platform_index_survives_skopeo_a_registry_and_docker() {
    if !binaries_ready()
        || !prereq::require(prereq::docker_answers(), "a Docker daemon (`docker info`)")
        || !prereq::require(
            prereq::command_works("skopeo", &["--version"]),
            "skopeo (Debian package skopeo)",
        )
        || !prereq::require(
            Registry::available(),
            "docker-registry (Debian package docker-registry)",
        )
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let built = build_multi("weavewait", dir.path());
    let (index, manifests) = platform_manifests(&built.archive);
    let archs: Vec<_> = index
        .manifests
        .iter()
        .map(|d| d.platform.clone().unwrap().architecture)
        .collect();
    assert_eq!(archs, ["amd64", "arm64"]);
    let files = kit::archive_files(&built.archive);
    let index_bytes = &files[&blob_path(&built.root.digest)];

    // skopeo sees the index, and picks each platform's manifest from it.
    let oci_archive = format!("oci-archive:{}", built.archive.display());
    assert_eq!(&skopeo_ok(&["inspect", "--raw", &oci_archive]), index_bytes);
    for (i, arch) in ["amd64", "arm64"].iter().enumerate() {
        let v: Value = serde_json::from_slice(&skopeo_ok(&[
            "--override-arch",
            arch,
            "inspect",
            &oci_archive,
        ]))
        .unwrap();
        // skopeo reports the index digest and the chosen platform's layers.
        assert_eq!(v["Architecture"], *arch);
        assert_eq!(v["Digest"], built.root.digest.as_str());
        assert_eq!(v["Layers"][0], manifests[i].layers[0].digest.as_str());
    }

    // Through a real registry and back into dockerd: the index digest is kept.
    let registry = Registry::start().unwrap_or_else(|e| panic!("{e}"));
    let remote = registry.skopeo_ref(&format!("weavewait:{TAG}"));
    skopeo_ok(&[
        "copy",
        "--all",
        "--preserve-digests",
        "--dest-tls-verify=false",
        &oci_archive,
        &remote,
    ]);
    assert_eq!(
        &skopeo_ok(&["inspect", "--raw", "--tls-verify=false", &remote]),
        index_bytes
    );
    let reference = format!("{}/weavewait:{TAG}", registry.addr);
    docker_ok(&["pull", "--quiet", &reference]);
    let inspect = docker_ok(&[
        "image",
        "inspect",
        "--format",
        "{{.Id}} {{.Architecture}} {{range .RepoDigests}}{{.}}{{end}}",
        &reference,
    ]);
    let _ = docker(&["rmi", &reference]);
    assert_eq!(
        inspect,
        format!(
            "{} amd64 {}/weavewait@{}",
            manifests[0].config.digest, registry.addr, built.root.digest
        )
    );

    // The docker-archive side of the same file holds the amd64 image: load, create, run.
    e2e::docker::load(&built.archive);
    let mut cleanup = Cleanup::default();
    let holder = cleanup.add(unique("multi"));
    docker_ok(&["create", "--name", &holder, &format!("weavewait:{TAG}")]);
    let arch = docker_ok(&[
        "image",
        "inspect",
        "--format",
        "{{.Id}} {{.Architecture}}",
        &format!("weavewait:{TAG}"),
    ]);
    drop(cleanup);
    let _ = docker(&["rmi", &format!("weavewait:{TAG}")]);
    assert_eq!(arch, format!("{} amd64", manifests[0].config.digest));
}

/// A user's own multi-platform spec through the real `image-kit`: one host file for every
/// platform is refused when it is a program for the other machine (Debian's amd64
/// busybox-static in the arm64 image), with nothing written; one host file per platform
/// puts each platform's program in its own layer.
#[test]
fn a_users_host_programs_go_to_their_own_platform_and_a_wrong_one_is_refused() {
    let kit_bin = prereq::workspace_root().join("target/release/image-kit");
    if !binaries_ready()
        || !prereq::require(
            kit_bin.exists(),
            "target/release/image-kit (run `make images`)",
        )
        || !prereq::require(
            Path::new("/bin/busybox").exists(),
            "/bin/busybox (Debian package busybox-static)",
        )
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = |spec: &str| {
        std::fs::write(dir.path().join("app.toml"), spec).unwrap();
        Command::new(&kit_bin)
            .current_dir(dir.path())
            .args(["--out", "out", "app.toml"])
            .output()
            .unwrap()
    };
    let head = "name = \"app\"\nplatforms = [\"linux/amd64\", \"linux/arm64\"]\n[config]\nEntrypoint = [\"/app\"]\n[[files]]\npath = \"/app\"\nmode = \"0755\"\n";

    let out = run(&format!("{head}host = \"/bin/busybox\"\n"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "image-kit: app.toml: files[0] \"/app\": is a program for x86-64, not for linux/arm64/v8: give one file per platform: host = { \"linux/amd64\" = \"…\", \"linux/arm64\" = \"…\" }\n"
    );
    assert!(!dir.path().join("out/app.tar").exists(), "no archive");

    let (amd64, arm64) = (
        prereq::static_bin("weavewait-example"),
        arm64_bin("weavewait-example"),
    );
    let out = run(&format!(
        "{head}host = {{ \"linux/amd64\" = {:?}, \"linux/arm64\" = {:?} }}\n",
        amd64.display().to_string(),
        arm64.display().to_string()
    ));
    assert!(out.status.success(), "{out:?}");
    let archive = dir.path().join("out/app.tar");
    let (index, manifests) = platform_manifests(&archive);
    let files = kit::archive_files(&archive);
    for (i, want) in [&amd64, &arm64].into_iter().enumerate() {
        let layer = dir.path().join(format!("layer{i}.tar.gz"));
        std::fs::write(&layer, &files[&blob_path(&manifests[i].layers[0].digest)]).unwrap();
        let rootfs = dir.path().join(format!("rootfs{i}"));
        std::fs::create_dir(&rootfs).unwrap();
        let status = Command::new("tar")
            .arg("-xzf")
            .arg(&layer)
            .arg("-C")
            .arg(&rootfs)
            .status()
            .unwrap();
        assert!(status.success());
        let app = std::fs::read(rootfs.join("app")).unwrap();
        let arch = &index.manifests[i].platform.as_ref().unwrap().architecture;
        assert!(
            app == std::fs::read(want).unwrap(),
            "{arch}: /app is {}",
            want.display()
        );
    }
}
