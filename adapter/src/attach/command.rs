//! The `command:<path>` backend: runs `<path> attach <cidrs...> <container id>` as argv
//! (never through a shell), the convention of `weave attach`.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use futures::future::BoxFuture;

use super::{AttachError, Backend, Target};
use crate::bounds;
use crate::policy::Identity;

/// Runs an external program to attach.
#[derive(Debug, Clone)]
pub struct Command {
    program: PathBuf,
}

impl Command {
    /// A backend running `program` (looked up in PATH when it has no `/`).
    pub fn new(program: PathBuf) -> Self {
        Command { program }
    }
}

/// Why a program cannot be run, as `execvp` would find it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotRunnable {
    /// A path (with a `/`) to nothing.
    #[error("{0} does not exist: give the path of the attach program")]
    Missing(PathBuf),
    /// A path to a directory or another non-file.
    #[error("{0} is not a file: give the path of the attach program")]
    NotAFile(PathBuf),
    /// A file without execute permission.
    #[error("{0} is not executable: chmod +x {0}")]
    NotExecutable(PathBuf),
    /// A name (without `/`) found in no directory of `PATH`.
    #[error("no executable {name} on PATH ({path}): install it there, or give its absolute path")]
    NotOnPath {
        /// The name looked for.
        name: String,
        /// `PATH` as searched.
        path: String,
    },
}

/// Finds `program` as `execvp` would: a name with a `/` is taken as a path, any other is
/// looked up in each directory of `path` (the `PATH` variable; unset: none). Returns the
/// file that would run.
///
/// Errors: what [`NotRunnable`] lists, naming the path or the name and `PATH`.
pub fn locate(program: &Path, path: Option<&OsStr>) -> Result<PathBuf, NotRunnable> {
    if program.as_os_str().as_encoded_bytes().contains(&b'/') {
        return runnable(program);
    }
    let dirs = path.map(std::env::split_paths).into_iter().flatten();
    for dir in dirs {
        // An empty entry means the current directory, as for execvp.
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        if let Ok(found) = runnable(&dir.join(program)) {
            return Ok(found);
        }
    }
    Err(NotRunnable::NotOnPath {
        name: program.display().to_string(),
        path: path.map_or_else(|| "unset".to_string(), |p| p.to_string_lossy().into_owned()),
    })
}

/// `path` when it is a file with an execute bit.
fn runnable(path: &Path) -> Result<PathBuf, NotRunnable> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(_) => return Err(NotRunnable::Missing(path.to_path_buf())),
    };
    if !meta.is_file() {
        return Err(NotRunnable::NotAFile(path.to_path_buf()));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(NotRunnable::NotExecutable(path.to_path_buf()));
    }
    Ok(path.to_path_buf())
}

/// The argv after the program: `attach`, the items in Weave spelling (`ip:…`, `net:…`,
/// `net:default`; none for a default allocation), then the full container id.
pub fn args(target: &Target) -> Vec<String> {
    let mut args = vec!["attach".to_string()];
    args.extend(target.items.iter().map(|i| i.to_weave_arg()));
    args.push(target.id.clone());
    args
}

impl Backend for Command {
    fn name(&self) -> &'static str {
        "command"
    }

    fn allocates(&self) -> bool {
        true
    }

    fn identity(&self) -> Identity {
        Identity::command(&self.program.to_string_lossy())
    }

    fn attach<'a>(&'a self, target: &'a Target) -> BoxFuture<'a, Result<(), AttachError>> {
        Box::pin(async move {
            let args = args(target);
            let argv = format!("{} {}", self.program.display(), args.join(" "));
            let fail = |why: String| AttachError::Command {
                target: target.to_string(),
                argv: argv.clone(),
                why,
            };
            let child = tokio::process::Command::new(&self.program)
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| fail(format!("could not start: {e}")))?;
            // A hang must fail, not block the container forever; on the bound the child is
            // killed (kill_on_drop).
            let bound = bounds::get().command;
            let out = tokio::time::timeout(bound, child.wait_with_output())
                .await
                .map_err(|_| fail(format!("did not finish within {bound:?} and was killed")))?
                .map_err(|e| fail(format!("could not be waited for: {e}")))?;
            if out.status.success() {
                return Ok(());
            }
            let stderr = String::from_utf8_lossy(&out.stderr);
            Err(fail(format!("failed ({}): {}", out.status, stderr.trim())))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weave_cidr::{parse, WeaveCidr};

    fn target(cidr: &str) -> Target {
        let WeaveCidr::Attach(items) = parse(cidr).unwrap() else {
            panic!()
        };
        Target {
            id: "abc".into(),
            name: "web-1".into(),
            pid: 1,
            value: cidr.to_string(),
            items,
        }
    }

    #[test]
    fn argv_is_attach_items_then_id() {
        assert_eq!(
            args(&target("10.2.1.1/24 net:default net:10.3.0.0/16")),
            [
                "attach",
                "ip:10.2.1.1/24",
                "net:default",
                "net:10.3.0.0/16",
                "abc"
            ]
        );
        assert_eq!(args(&target("")), ["attach", "abc"]);
    }

    #[tokio::test]
    async fn failure_carries_status_and_stderr() {
        let cmd = Command::new("/bin/sh".into());
        // `/bin/sh attach ...` fails: no script named "attach".
        let err = cmd.attach(&target("10.2.1.1/24")).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("/bin/sh attach ip:10.2.1.1/24 abc"), "{text}");
        assert!(text.contains("failed"), "{text}");
        let missing = Command::new("/nonexistent/attach-tool".into());
        let err = missing.attach(&target("")).await.unwrap_err();
        assert!(err.to_string().contains("could not start"), "{err}");
    }

    #[test]
    fn programs_are_found_as_execvp_finds_them() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("attach-tool");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "").unwrap();
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();

        assert_eq!(locate(&exe, None), Ok(exe.clone()));
        let path = std::env::join_paths(["/nonexistent", dir.path().to_str().unwrap()]).unwrap();
        assert_eq!(
            locate(Path::new("attach-tool"), Some(&path)),
            Ok(exe.clone())
        );

        let missing = dir.path().join("nope");
        let e = locate(&missing, Some(&path)).unwrap_err();
        assert_eq!(e, NotRunnable::Missing(missing.clone()));
        assert!(e
            .to_string()
            .ends_with("does not exist: give the path of the attach program"));
        let e = locate(&plain, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{0} is not executable: chmod +x {0}", plain.display())
        );
        let e = locate(dir.path(), None).unwrap_err();
        assert!(matches!(e, NotRunnable::NotAFile(_)), "{e}");
        // A name is never looked up in the current directory unless PATH says so, and a
        // non-executable match is passed over.
        let e = locate(Path::new("plain"), Some(&path)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "no executable plain on PATH ({}): install it there, or give its absolute path",
                path.to_string_lossy()
            )
        );
        let e = locate(Path::new("weave"), None).unwrap_err();
        assert!(e.to_string().contains("on PATH (unset)"), "{e}");
    }

    #[tokio::test]
    async fn success_is_exit_zero() {
        Command::new("/bin/true".into())
            .attach(&target("10.2.1.1/24"))
            .await
            .unwrap();
    }
}
