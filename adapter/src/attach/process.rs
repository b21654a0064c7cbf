//! A container's first process, held from the moment it is inspected: judging whether it
//! has ended, and killing it, must concern that very process, never a later one the kernel
//! gave its pid to.
//!
//! With a pidfd (`pidfd_open(2)`, Linux 5.3 and later) the handle is exact: it becomes
//! readable when the process exits, and `pidfd_send_signal(2)` cannot reach another
//! process. Older kernels get the process's start time (`/proc/<pid>/stat` field 22),
//! compared before each use. The pid itself comes from an inspect made just before the
//! handle is opened; a pid is reused only once the whole pid space has cycled.

use std::os::fd::{AsFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::libc;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// The first process of a container.
#[derive(Debug)]
pub struct Process {
    pid: u32,
    handle: Handle,
}

#[derive(Debug)]
enum Handle {
    Pidfd(OwnedFd),
    /// No pidfd on this kernel: the start time seen at open.
    StartTime(u64),
    /// It had ended already when the handle was opened.
    Ended,
}

impl Process {
    /// A handle on process `pid` as it is now.
    pub fn open(pid: u32) -> Process {
        let handle = match pidfd_open(pid) {
            Ok(fd) => Handle::Pidfd(fd),
            Err(Errno::ESRCH) => Handle::Ended,
            Err(_) => match read_start_time(pid) {
                Some(start) => Handle::StartTime(start),
                None => Handle::Ended,
            },
        };
        Process { pid, handle }
    }

    /// The pid it had.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// True once the process has exited (a zombie included: its namespaces are gone).
    pub fn has_ended(&self) -> bool {
        match &self.handle {
            Handle::Ended => true,
            Handle::Pidfd(fd) => {
                let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
                match poll(&mut fds, PollTimeout::ZERO) {
                    Ok(n) => n > 0,
                    // Cannot tell: treat it as alive, so a failure is still a failure.
                    Err(_) => false,
                }
            }
            Handle::StartTime(start) => read_start_time(self.pid) != Some(*start),
        }
    }

    /// True when the process has ended, or ends within `bound` (checked every 10 ms): a
    /// process that is exiting releases its namespaces a moment before it is reported
    /// ended, so a failure they caused is judged after that moment.
    pub async fn ends_within(&self, bound: std::time::Duration) -> bool {
        let step = std::time::Duration::from_millis(10);
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            if self.has_ended() {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(step).await;
        }
    }

    /// SIGKILL to the process. `Ok(false)` when it had ended already (nothing was killed).
    ///
    /// Errors: the kernel refused the signal (EPERM).
    pub fn kill(&self) -> Result<bool, Errno> {
        if self.has_ended() {
            return Ok(false);
        }
        let sent = match &self.handle {
            Handle::Ended => return Ok(false),
            Handle::Pidfd(fd) => pidfd_send_signal(fd, libc::SIGKILL),
            Handle::StartTime(_) => {
                // Never 0 or negative: kill(2) would signal a process group.
                let Ok(pid @ 1..) = i32::try_from(self.pid) else {
                    return Ok(false);
                };
                nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                )
            }
        };
        match sent {
            Ok(()) => Ok(true),
            Err(Errno::ESRCH) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

fn pidfd_open(pid: u32) -> Result<OwnedFd, Errno> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| Errno::EINVAL)?;
    if pid < 1 {
        return Err(Errno::EINVAL);
    }
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: the kernel just returned this descriptor to us alone.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

fn pidfd_send_signal(fd: &OwnedFd, signal: i32) -> Result<(), Errno> {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid pidfd, a signal number, no siginfo, no flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

fn read_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    start_time(&stat)
}

/// Field 22 (`starttime`, clock ticks after boot) of a `/proc/<pid>/stat` line, unless the
/// process is a zombie (state `Z`, field 3). The command name (field 2) is in parentheses
/// and may itself hold spaces and parentheses, so fields are counted from the last `)`.
fn start_time(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    if fields.next()? == "Z" {
        return None;
    }
    // Fields 4 to 21 lie between the state and the start time.
    fields.nth(18)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_is_field_22_counted_after_the_name() {
        let line = "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10";
        assert_eq!(start_time(line), Some(98765));
        let zombie = "42 (sh) Z 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 0 0";
        assert_eq!(start_time(zombie), None);
        assert_eq!(start_time("42 (sh) S 1"), None);
    }

    #[test]
    fn a_handle_follows_its_own_process_only() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let p = Process::open(child.id());
        assert!(!p.has_ended());
        assert_eq!(p.kill(), Ok(true));
        child.wait().unwrap();
        assert!(p.has_ended());
        // Reaped: its pid may now be anyone's; the handle kills nothing.
        assert_eq!(p.kill(), Ok(false));
    }

    #[test]
    fn an_exited_unreaped_process_has_ended() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let p = Process::open(child.id());
        // A zombie until reaped: ended all the same.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !p.has_ended() {
            assert!(std::time::Instant::now() < deadline, "never ended");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(p.kill(), Ok(false));
        child.wait().unwrap();
    }

    #[tokio::test]
    async fn an_ending_process_is_waited_for_within_the_bound_only() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 0.1"])
            .spawn()
            .unwrap();
        let p = Process::open(child.id());
        assert!(!p.ends_within(std::time::Duration::ZERO).await);
        assert!(p.ends_within(std::time::Duration::from_secs(10)).await);
        child.wait().unwrap();
    }

    #[test]
    fn without_pidfd_the_start_time_tells_the_process() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let start = read_start_time(child.id()).unwrap();
        let p = Process {
            pid: child.id(),
            handle: Handle::StartTime(start),
        };
        assert!(!p.has_ended());
        let other = Process {
            pid: child.id(),
            handle: Handle::StartTime(start + 1),
        };
        assert!(other.has_ended(), "another start time is another process");
        assert_eq!(other.kill(), Ok(false));
        assert_eq!(p.kill(), Ok(true));
        child.wait().unwrap();
        assert!(p.has_ended());
    }
}
