//! The weavewait archive through real validators: `skopeo inspect oci-archive:`, `skopeo
//! copy` into a real registry (Debian's docker-registry on 127.0.0.1), pulled back with
//! skopeo and with `docker pull`: the digests and every blob stay unchanged end to end.

use std::collections::BTreeMap;
use std::path::Path;

use e2e::docker::{docker, docker_ok};
use e2e::kit;
use e2e::prereq;
use e2e::registry::{skopeo_ok, Registry};
use images::layout::blob_path;
use images::oci::{Index, Manifest, MEDIA_INDEX};
use serde_json::Value;

fn ready(archive: &Path) -> bool {
    prereq::require(prereq::docker_answers(), "a Docker daemon (`docker info`)")
        && prereq::require(
            prereq::command_works("skopeo", &["--version"]),
            "skopeo (Debian package skopeo)",
        )
        && prereq::require(
            Registry::available(),
            "docker-registry (Debian package docker-registry)",
        )
        && prereq::require(
            archive.exists(),
            &format!("{} (run `make images`)", archive.display()),
        )
}

/// Removes the pulled image references when dropped, also when the test panics.
struct Pulled(Vec<String>);

impl Drop for Pulled {
    fn drop(&mut self) {
        for image in &self.0 {
            let _ = docker(&["rmi", image]);
        }
    }
}

fn blobs_of_layout(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut blobs = BTreeMap::new();
    for entry in std::fs::read_dir(dir.join("blobs/sha256")).expect("pulled layout has blobs") {
        let entry = entry.unwrap();
        blobs.insert(
            format!("blobs/sha256/{}", entry.file_name().to_string_lossy()),
            std::fs::read(entry.path()).unwrap(),
        );
    }
    blobs
}

#[test]
fn weavewait_round_trips_through_skopeo_a_registry_and_docker_pull_unchanged() {
    let archive = kit::archive_path("weavewait");
    if !ready(&archive) {
        return;
    }
    let oci_archive = format!("oci-archive:{}", archive.display());
    let root = kit::root_descriptor(&archive);
    let ours = kit::archive_files(&archive);
    // The root is the manifest, or with `make images PLATFORMS=…` an index whose first
    // entry is the amd64 manifest.
    let manifest_bytes = &ours[&blob_path(&root.digest)];
    let manifest: Manifest = if root.media_type == MEDIA_INDEX {
        let index: Index = serde_json::from_slice(manifest_bytes).unwrap();
        serde_json::from_slice(&ours[&blob_path(&index.manifests[0].digest)]).unwrap()
    } else {
        serde_json::from_slice(manifest_bytes).unwrap()
    };

    // skopeo reads the archive as an OCI layout and sees our manifest, byte for byte.
    let inspect: Value = serde_json::from_slice(&skopeo_ok(&["inspect", &oci_archive])).unwrap();
    assert_eq!(inspect["Digest"], root.digest.as_str());
    assert_eq!(inspect["Architecture"], "amd64");
    assert_eq!(
        inspect["Labels"]["org.opencontainers.image.title"],
        "weavewait"
    );
    let raw = skopeo_ok(&["inspect", "--raw", &oci_archive]);
    assert_eq!(&raw, manifest_bytes);

    // Push both tags to a real registry; --preserve-digests makes skopeo fail rather
    // than rewrite anything.
    let registry = Registry::start().unwrap_or_else(|e| panic!("{e}"));
    for tag in ["latest", kit::version()] {
        skopeo_ok(&[
            "copy",
            "--all",
            "--preserve-digests",
            "--dest-tls-verify=false",
            &oci_archive,
            &registry.skopeo_ref(&format!("weavewait:{tag}")),
        ]);
    }
    let remote = registry.skopeo_ref(&format!("weavewait:{}", kit::version()));
    let remote_raw = skopeo_ok(&["inspect", "--raw", "--tls-verify=false", &remote]);
    assert_eq!(
        &remote_raw, manifest_bytes,
        "the registry serves our manifest"
    );
    let remote_inspect: Value =
        serde_json::from_slice(&skopeo_ok(&["inspect", "--tls-verify=false", &remote])).unwrap();
    assert_eq!(remote_inspect["Digest"], root.digest.as_str());

    // Pull back with skopeo into an OCI layout directory: every blob identical.
    let pulled = tempfile::tempdir().unwrap();
    skopeo_ok(&[
        "copy",
        "--all",
        "--preserve-digests",
        "--src-tls-verify=false",
        &registry.skopeo_ref("weavewait:latest"),
        &format!("oci:{}:latest", pulled.path().display()),
    ]);
    let pulled_blobs = blobs_of_layout(pulled.path());
    let our_blobs: BTreeMap<String, Vec<u8>> = ours
        .iter()
        .filter(|(path, _)| path.starts_with("blobs/"))
        .map(|(p, b)| (p.clone(), b.clone()))
        .collect();
    assert_eq!(
        pulled_blobs.keys().collect::<Vec<_>>(),
        our_blobs.keys().collect::<Vec<_>>()
    );
    assert!(pulled_blobs == our_blobs, "pulled blobs differ from ours");

    // docker pull (dockerd allows plain HTTP on 127.0.0.0/8): same manifest digest, and
    // the image ID is our config digest.
    let reference = format!("{}/weavewait:latest", registry.addr);
    let _cleanup = Pulled(vec![reference.clone()]);
    docker_ok(&["pull", "--quiet", &reference]);
    let repo_digests = docker_ok(&[
        "image",
        "inspect",
        "--format",
        "{{range .RepoDigests}}{{.}} {{end}}",
        &reference,
    ]);
    let expected = format!("{}/weavewait@{}", registry.addr, root.digest);
    assert!(
        repo_digests.split_whitespace().any(|d| d == expected),
        "RepoDigests {repo_digests:?} lacks {expected}"
    );
    let id = docker_ok(&["image", "inspect", "--format", "{{.Id}}", &reference]);
    assert_eq!(id, manifest.config.digest);
}

#[test]
fn make_push_puts_every_image_under_both_tags() {
    let names = ["weavewait", "weavewait-example", "powerstrip-weave"];
    if !names.iter().all(|n| ready(&kit::archive_path(n)))
        || !prereq::require(prereq::command_works("make", &["--version"]), "make")
    {
        return;
    }
    let registry = Registry::start().unwrap_or_else(|e| panic!("{e}"));
    // `-o images`: push the archives `make images` already wrote, without rebuilding.
    let out = std::process::Command::new("timeout")
        .args(["600", "make", "-s", "-o", "images", "push"])
        .arg(format!("REGISTRY={}", registry.addr))
        .current_dir(prereq::workspace_root())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("make runs");
    assert!(
        out.status.success(),
        "make push failed: {}",
        e2e::output_text(&out)
    );
    for name in names {
        let root = kit::root_descriptor(&kit::archive_path(name));
        for tag in ["latest", kit::version()] {
            let raw = skopeo_ok(&[
                "inspect",
                "--raw",
                "--tls-verify=false",
                &registry.skopeo_ref(&format!("{name}:{tag}")),
            ]);
            assert_eq!(kit::digest(&raw), root.digest, "{name}:{tag}");
        }
    }
}
