//! Writing an archive: never a partial file at the destination.

use std::io::Write;
use std::path::Path;

/// Writes `dest` atomically with `write`, which writes the contents into the writer it is
/// given: a temporary file in the same directory (created if missing), flushed and synced,
/// then renamed over `dest`. Returns the file's size in bytes. On any error the temporary file
/// is removed and `dest` is untouched; readers see the old archive or the new one, never
/// a partial one. The file gets mode 0644 whatever the umask, so builds under different
/// umasks give the same result.
///
/// Errors: the I/O error, with the path concerned in its text.
pub fn write_atomic(
    dest: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<u64> {
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let context = |what: &str, path: &Path, e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| context("cannot create", dir, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".image-kit-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| context("cannot create a temporary file in", dir, e))?;
    let size = {
        let mut out = std::io::BufWriter::new(tmp.as_file());
        write(&mut out)
            .and_then(|()| out.flush())
            .and_then(|()| tmp.as_file().sync_all())
            .and_then(|()| tmp.as_file().metadata())
            .map_err(|e| context("cannot write", tmp.path(), e))?
            .len()
    };
    set_mode_0644(tmp.as_file()).map_err(|e| context("cannot chmod", tmp.path(), e))?;
    tmp.persist(dest)
        .map_err(|e| context("cannot rename into", dest, e.error))?;
    Ok(size)
}

fn set_mode_0644(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
}

#[cfg(test)]
mod tests {
    use super::write_atomic;

    #[test]
    fn writes_and_replaces_leaving_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sub/x.tar");
        assert_eq!(write_atomic(&dest, |w| w.write_all(b"one")).unwrap(), 3);
        write_atomic(&dest, |w| w.write_all(b"two")).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dest.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("x.tar")]);
    }

    #[test]
    fn failure_leaves_the_old_archive() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x.tar");
        write_atomic(&dest, |w| w.write_all(b"old")).unwrap();
        // A directory where the parent should be: creating the temp file fails.
        let blocked = dir.path().join("file-not-dir");
        std::fs::write(&blocked, b"").unwrap();
        assert!(write_atomic(&blocked.join("y.tar"), |w| w.write_all(b"new")).is_err());
        assert_eq!(std::fs::read(&dest).unwrap(), b"old");
        // A writer that fails halfway leaves the old archive and no temporary file.
        let half = write_atomic(&dest, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(half.unwrap_err().to_string().contains("disk full"));
        assert_eq!(std::fs::read(&dest).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
