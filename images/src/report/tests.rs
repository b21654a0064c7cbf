use std::path::PathBuf;

use super::*;
use crate::oci::Descriptor;
use crate::spec::Platform;

#[test]
fn human_sizes_use_1024_based_units_with_one_decimal() {
    for (bytes, want) in [
        (0, "0.0 KiB"),
        (512, "0.5 KiB"),
        (1024, "1.0 KiB"),
        (246_272, "240.5 KiB"),
        (1_048_524, "1023.9 KiB"),
        (1_048_575, "1.0 MiB"),
        (3_460_096, "3.3 MiB"),
        (5 << 30, "5.0 GiB"),
        (5 << 40, "5120.0 GiB"),
    ] {
        assert_eq!(human(bytes), want, "{bytes}");
    }
}

fn built() -> Built {
    Built {
        name: "acme/hello".into(),
        archive: PathBuf::from("out/acme/hello.tar"),
        root: Descriptor {
            media_type: crate::oci::MEDIA_INDEX.into(),
            digest: "sha256:abc".into(),
            size: 1,
            platform: None,
            annotations: Default::default(),
        },
        refs: vec!["acme/hello:latest".into(), "acme/hello:1.4.2".into()],
        platforms: vec![
            Platform::parse("linux/amd64").unwrap(),
            Platform::parse("linux/arm64").unwrap(),
        ],
        archive_bytes: 1_038_336,
        file_bytes: 1_982_256,
        layer_bytes: 1_029_344,
    }
}

#[test]
fn lines_give_location_digest_tags_and_sizes_that_add_up() {
    assert_eq!(
        lines(&built()),
        "acme/hello out/acme/hello.tar sha256:abc acme/hello:latest acme/hello:1.4.2\n\
         \x20 archive 1038336 bytes (1014.0 KiB) = compressed layers 1029344 bytes (1005.2 KiB) \
         + metadata 8992 bytes (8.8 KiB)\n\
         \x20 files 1982256 bytes (1.9 MiB) uncompressed, linux/amd64, linux/arm64/v8\n"
    );
    let b = built();
    assert_eq!(b.layer_bytes + b.metadata_bytes(), b.archive_bytes);
}
