//! Exec the command: execvp semantics with the process `PATH` (Docker's default `PATH`
//! when unset), `argv[0]` as given, the environment unchanged. Failures map to Docker's
//! exit codes: 127 when the command is not found, 126 when it cannot be executed.

use std::ffi::{CString, OsStr, OsString};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

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
    let mut missing = None;
    for candidate in candidates(file, path.as_deref()) {
        let Ok(c_path) = CString::new(candidate.as_os_str().as_bytes()) else {
            continue;
        };
        match nix::unistd::execv(&c_path, &argv) {
            Ok(never) => match never {},
            // There, but its interpreter is not: remember the first such, like EACCES.
            Err(Errno::ENOENT) if missing.is_none() && candidate.is_file() => {
                missing = missing_interpreter(&candidate)
            }
            // Not here: try the next PATH entry, like execvp.
            Err(
                Errno::ENOENT | Errno::ENOTDIR | Errno::ESTALE | Errno::ELOOP | Errno::ENAMETOOLONG,
            ) => {}
            // Found but not executable here: remember it, a later entry may work.
            Err(Errno::EACCES) => denied = Some(Errno::EACCES),
            Err(errno) => return failure(NOT_EXECUTABLE, file, &describe(errno)),
        }
    }
    match (missing, denied) {
        (Some(why), _) => failure(NOT_FOUND, file, &why),
        (None, Some(errno)) => failure(NOT_EXECUTABLE, file, &describe(errno)),
        (None, None) if file.as_bytes().contains(&b'/') => {
            failure(NOT_FOUND, file, "no such file or directory")
        }
        (None, None) => failure(NOT_FOUND, file, "executable file not found in $PATH"),
    }
}

/// The program that runs `file` in its place, as the kernel reads it from the file's first
/// bytes: the `#!` line's first word (the kernel strips trailing spaces and tabs, not a
/// carriage return), or an ELF program's `PT_INTERP` (its dynamic loader, e.g.
/// `/lib64/ld-linux-x86-64.so.2`). `None` when `head` names none within its bytes.
pub fn interpreter(head: &[u8]) -> Option<Interpreter> {
    if let Some(line) = head.strip_prefix(b"#!") {
        let line = line.split(|&b| b == b'\n').next()?;
        let word = line
            .split(|&b| b == b' ' || b == b'\t')
            .find(|w| !w.is_empty())?;
        return Some(Interpreter::Script(word.to_vec()));
    }
    elf_interpreter(head).map(Interpreter::Loader)
}

/// What [`interpreter`] found, as bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interpreter {
    /// The first word of a `#!` line.
    Script(Vec<u8>),
    /// An ELF program's dynamic loader (`PT_INTERP`).
    Loader(Vec<u8>),
}

/// `PT_INTERP` of an ELF file (32 or 64 bits, either byte order) whose program headers and
/// interpreter string lie within `head`. Layout: the ELF specification (`Elf32_Ehdr`,
/// `Elf64_Ehdr`, `Elf*_Phdr`).
fn elf_interpreter(head: &[u8]) -> Option<Vec<u8>> {
    const PT_INTERP: u64 = 3;
    if head.get(..4)? != b"\x7fELF" {
        return None;
    }
    let wide = match head.get(4)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let little = *head.get(5)? == 1;
    let int = |at: usize, len: usize| -> Option<u64> {
        let bytes = head.get(at..at.checked_add(len)?)?;
        let fold = |n: u64, &b: &u8| n << 8 | u64::from(b);
        Some(if little {
            bytes.iter().rev().fold(0, fold)
        } else {
            bytes.iter().fold(0, fold)
        })
    };
    let word = if wide { 8 } else { 4 };
    let (phoff, phentsize, phnum) = if wide {
        (int(0x20, 8)?, int(0x36, 2)?, int(0x38, 2)?)
    } else {
        (int(0x1c, 4)?, int(0x2a, 2)?, int(0x2c, 2)?)
    };
    for i in 0..phnum {
        let ph = usize::try_from(phoff.checked_add(i.checked_mul(phentsize)?)?).ok()?;
        if int(ph, 4)? != PT_INTERP {
            continue;
        }
        let (offset, size) = if wide {
            (
                int(ph.checked_add(8)?, word)?,
                int(ph.checked_add(0x20)?, word)?,
            )
        } else {
            (
                int(ph.checked_add(4)?, word)?,
                int(ph.checked_add(0x10)?, word)?,
            )
        };
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        let name = head.get(start..end)?;
        let name = name.split(|&b| b == 0).next()?;
        return (!name.is_empty()).then(|| name.to_vec());
    }
    None
}

/// Why exec of `file`, which is there, failed with ENOENT, when its interpreter is missing:
/// one clause naming the interpreter and the fix. `None` when the file names none, or names
/// one that exists (the error is then the kernel's own).
fn missing_interpreter(file: &Path) -> Option<String> {
    let mut head = Vec::with_capacity(HEAD_BYTES);
    std::fs::File::open(file)
        .and_then(|f| f.take(HEAD_BYTES as u64).read_to_end(&mut head))
        .ok()?;
    let found = interpreter(&head)?;
    let (Interpreter::Script(name) | Interpreter::Loader(name)) = &found;
    if Path::new(OsStr::from_bytes(name)).exists() {
        return None;
    }
    let quoted = format!("{:?}", OsStr::from_bytes(name).to_string_lossy());
    let file = file.display();
    Some(match found {
        Interpreter::Script(name) if name.ends_with(b"\r") => format!(
            "its interpreter {quoted} (the #! line of {file}) ends in a carriage return: the \
             script has Windows line ends; convert it to Unix line ends (dos2unix)"
        ),
        Interpreter::Script(_) => format!(
            "its interpreter {quoted} (the #! line of {file}) is missing; install it or \
             correct that line"
        ),
        Interpreter::Loader(_) => format!(
            "its interpreter {quoted} (the dynamic loader {file} was linked for) is missing; \
             install that C library, or build a static program"
        ),
    })
}

/// How much of a file [`missing_interpreter`] reads: the `#!` line and, in ELF programs,
/// the program headers and `PT_INTERP` (within the first page in practice).
const HEAD_BYTES: usize = 4096;

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
    fn the_interpreter_of_a_script_is_the_first_word_of_its_line() {
        let script = |s: &[u8]| Some(Interpreter::Script(s.to_vec()));
        assert_eq!(interpreter(b"#!/bin/sh\necho"), script(b"/bin/sh"));
        assert_eq!(
            interpreter(b"#! /usr/bin/env  python3 -u\n"),
            script(b"/usr/bin/env")
        );
        assert_eq!(interpreter(b"#!/bin/sh\r\n"), script(b"/bin/sh\r"));
        assert_eq!(interpreter(b"#!/bin/sh"), script(b"/bin/sh"));
        assert_eq!(interpreter(b"#!  \n"), None);
        assert_eq!(interpreter(b"echo no line\n"), None);
        assert_eq!(interpreter(b""), None);
    }

    #[test]
    fn the_interpreter_of_an_elf_program_is_its_loader() {
        // A 64-bit little-endian header with one PT_INTERP program header.
        let mut elf = vec![0u8; 0x100];
        elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
        elf[0x20] = 0x40; // e_phoff
        elf[0x36] = 0x38; // e_phentsize
        elf[0x38] = 1; // e_phnum
        elf[0x40] = 3; // p_type PT_INTERP
        elf[0x48] = 0xa0; // p_offset
        elf[0x60] = 8; // p_filesz, with its NUL
        elf[0xa0..0xa8].copy_from_slice(b"/lib/ld\0");
        assert_eq!(
            interpreter(&elf),
            Some(Interpreter::Loader(b"/lib/ld".to_vec()))
        );
        // Cut short, or with headers pointing outside: nothing, and no panic.
        for len in 0..elf.len() {
            let _ = interpreter(&elf[..len]);
        }
        elf[0x20] = 0xff;
        elf[0x27] = 0xff;
        assert_eq!(interpreter(&elf), None);
        elf[0x20] = 0x40;
        elf[0x27] = 0;
        elf[0x40] = 1; // PT_LOAD: a static program names no loader
        assert_eq!(interpreter(&elf), None);
    }

    #[test]
    fn an_empty_command_name_is_not_found() {
        let e = exec(&[OsString::from(""), OsString::from("x")]);
        assert_eq!(e.status, NOT_FOUND, "{e:?}");
        assert_eq!(e.message, "exec \"\": executable file not found in $PATH");
    }
}
