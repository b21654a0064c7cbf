#!/usr/bin/env bash
# Runs COMMAND with a clean signal state, as an init system starts a daemon: every signal's
# disposition at its default and none blocked.
#   mk/sigdefault.sh COMMAND...
# Why: glibc's posix_spawn, which make and cargo use, leaves glibc's reserved signals 32 and
# 33 ignored in the child, ignored dispositions survive exec, and no glibc program (env
# --default-signal included) may reset them. A dockerd started from a build would hand that
# on to every container it runs. Perl's raw syscall reaches rt_sigaction (13) and
# rt_sigprocmask (14) directly; the numbers and the kernel's struct sigaction (handler,
# flags, restorer, mask: 4 x 64 bits) are x86_64's.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: mk/sigdefault.sh COMMAND..." >&2; exit 2; }
exec perl -e '
  # syscall wants writable buffers and plain numbers.
  my $default = pack("Q4", 0, 0, 0, 0);
  my $none = pack("Q", 0);
  for (my $sig = 1; $sig <= 64; $sig++) {
    next if $sig == 9 || $sig == 19;    # SIGKILL and SIGSTOP cannot change
    syscall(13, $sig, $default, 0, 8) == 0 or die "rt_sigaction($sig): $!\n";
  }
  my $how = 2;    # SIG_SETMASK
  syscall(14, $how, $none, 0, 8) == 0 or die "rt_sigprocmask: $!\n";
  exec { $ARGV[0] } @ARGV or die "cannot run $ARGV[0]: $!\n";
' -- "$@"
