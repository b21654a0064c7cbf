//! Exec the command: execvp semantics with the process `PATH` (Docker's default `PATH`
//! when unset), `argv[0]` as given, the environment unchanged. Failures map to Docker's
//! exit codes: 127 when the command is not found, 126 when it cannot be executed.

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use nix::errno::Errno;

/// The `PATH` Docker gives a container whose image sets none (moby `oci.DefaultPathEnv`).
pub const DOCKER_DEFAULT_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Exit status when the command is not found (Docker's 127).
pub const NOT_FOUND: i32 = 127;
/// Exit status when the command was found but cannot be executed (Docker's 126).
pub const NOT_EXECUTABLE: i32 = 126;

/// Why the command could not be executed: the exit status (126 or 127) and one line for
/// stderr naming the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecError {
    /// [`NOT_FOUND`] or [`NOT_EXECUTABLE`].
    pub status: i32,
    /// E.g. `exec "foo": executable file not found in $PATH`.
    pub message: String,
}

/// The files to try, in order, for `file` (`argv[0]`) under `path` (the `PATH` value, or
/// `None` when unset): `file` itself when it contains a `/`, else `dir/file` for each
/// `PATH` entry (an empty entry is the current directory, as in POSIX).
pub fn candidates(file: &OsStr, path: Option<&OsStr>) -> Vec<PathBuf> {
    if file.as_bytes().contains(&b'/') {
        return vec![PathBuf::from(file)];
    }
    let path = path.unwrap_or(OsStr::new(DOCKER_DEFAULT_PATH));
    path.as_bytes()
        .split(|&b| b == b':')
        .map(|dir| {
            if dir.is_empty() {
                PathBuf::from(file)
            } else {
                PathBuf::from(OsStr::from_bytes(dir)).join(file)
            }
        })
        .collect()
}

/// Replaces this process with `command` (`command[0]` is the file and `argv[0]`); returns
/// only on failure. The caller has restored the signal state; our fds are `O_CLOEXEC`.
pub fn exec(command: &[OsString]) -> ExecError {
    let Some(file) = command.first() else {
        return failure(NOT_FOUND, OsStr::new(""), "no command given");
    };
    // execvp (and Docker) treat an empty name as not found; searching PATH for it would
    // try the directories themselves and report "permission denied".
    if file.is_empty() {
        return failure(NOT_FOUND, file, "executable file not found in $PATH");
    }
    let argv: Result<Vec<CString>, _> =
        command.iter().map(|w| CString::new(w.as_bytes())).collect();
    let Ok(argv) = argv else {
        return failure(NOT_EXECUTABLE, file, "an argument contains a NUL byte");
    };
    let path = std::env::var_os("PATH");
    let mut denied = None;
    for candidate in candidates(file, path.as_deref()) {
        let Ok(c_path) = CString::new(candidate.as_os_str().as_bytes()) else {
            continue;
        };
        match nix::unistd::execv(&c_path, &argv) {
            Ok(never) => match never {},
            // Not here: try the next PATH entry, like execvp.
            Err(
                Errno::ENOENT | Errno::ENOTDIR | Errno::ESTALE | Errno::ELOOP | Errno::ENAMETOOLONG,
            ) => {}
            // Found but not executable here: remember it, a later entry may work.
            Err(Errno::EACCES) => denied = Some(Errno::EACCES),
            Err(errno) => return failure(NOT_EXECUTABLE, file, &describe(errno)),
        }
    }
    match denied {
        Some(errno) => failure(NOT_EXECUTABLE, file, &describe(errno)),
        None if file.as_bytes().contains(&b'/') => {
            failure(NOT_FOUND, file, "no such file or directory")
        }
        None => failure(NOT_FOUND, file, "executable file not found in $PATH"),
    }
}

/// Docker's lower-case wording for the usual exec errors; the C library's text otherwise.
/// (A table here instead of lower-casing: Unicode case tables cost KBs of binary.)
fn describe(errno: Errno) -> String {
    match errno {
        Errno::EACCES | Errno::EPERM => "permission denied".into(),
        Errno::ENOEXEC => "exec format error".into(),
        Errno::ETXTBSY => "text file busy".into(),
        Errno::E2BIG => "argument list too long".into(),
        Errno::ENOMEM => "cannot allocate memory".into(),
        Errno::EISDIR => "is a directory".into(),
        Errno::ELIBBAD => "accessing a corrupted shared library".into(),
        errno => std::io::Error::from_raw_os_error(errno as i32).to_string(),
    }
}

fn failure(status: i32, file: &OsStr, why: &str) -> ExecError {
    ExecError {
        status,
        message: format!("exec {:?}: {why}", file.to_string_lossy()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: Vec<PathBuf>) -> Vec<String> {
        v.into_iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn a_slash_means_no_path_search() {
        let got = candidates(OsStr::new("./app"), Some(OsStr::new("/bin")));
        assert_eq!(strs(got), ["./app"]);
        let got = candidates(OsStr::new("/bin/sh"), None);
        assert_eq!(strs(got), ["/bin/sh"]);
    }

    #[test]
    fn path_entries_in_order_and_empty_means_current_directory() {
        let got = candidates(OsStr::new("app"), Some(OsStr::new("/a::/b/")));
        assert_eq!(strs(got), ["/a/app", "app", "/b/app"]);
    }

    #[test]
    fn docker_default_path_when_unset() {
        let got = candidates(OsStr::new("app"), None);
        assert_eq!(
            strs(got),
            [
                "/usr/local/sbin/app",
                "/usr/local/bin/app",
                "/usr/sbin/app",
                "/usr/bin/app",
                "/sbin/app",
                "/bin/app"
            ]
        );
    }

    #[test]
    fn failures_name_the_command() {
        let e = exec(&[OsString::from("/nonexistent/pw-no-such-command")]);
        assert_eq!(e.status, NOT_FOUND);
        assert_eq!(
            e.message,
            "exec \"/nonexistent/pw-no-such-command\": no such file or directory"
        );
        let e = exec(&[OsString::from("/")]);
        assert_eq!(e.status, NOT_EXECUTABLE, "{e:?}");
        assert_eq!(exec(&[]).status, NOT_FOUND);
    }

    #[test]
    fn an_empty_command_name_is_not_found() {
        let e = exec(&[OsString::from(""), OsString::from("x")]);
        assert_eq!(e.status, NOT_FOUND, "{e:?}");
        assert_eq!(e.message, "exec \"\": executable file not found in $PATH");
    }
}
