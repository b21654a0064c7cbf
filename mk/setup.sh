#!/usr/bin/env bash
# What `make demo` and `make test` need on a Debian machine, installed when missing:
#   mk/setup.sh demo|test
# - Debian packages (the lists below), with apt-get from the sources the system already has
#   (nothing in the apt configuration changes).
# - Rust: when no cargo is found, rustup from static.rust-lang.org (checked against its
#   published sha256) into ~/.cargo with the toolchain below, minimal profile, shell
#   profiles left alone (the Makefile puts ~/.cargo/bin on PATH); the musl targets the
#   build needs; for test, rustfmt and clippy.
# - A Docker daemon: when none answers and DOCKER_HOST is unset, starts the system's
#   (`systemctl start docker` under systemd, else Debian's `/etc/init.d/docker start`, which
#   logs to /var/log/docker.log), says so, and leaves it running as an installed docker.io
#   would be. A DOCKER_HOST that does not answer is an error, not something to start.
# Quiet when everything is present. Installing needs root.
set -euo pipefail
what=${1:-}
case $what in demo | test) ;; *) echo "usage: mk/setup.sh demo|test" >&2; exit 2 ;; esac

# The toolchain CI builds and lints with. Not "stable": each release's clippy brings new
# lints, and `make test` runs clippy with -D warnings.
rust_toolchain=1.95.0

say() { echo "setup: $*"; }
die() { echo "setup: $*" >&2; exit 1; }
# Runs a command, showing its output only when it fails.
quietly() {
  local out
  out=$("$@" 2>&1) || { echo "$out" >&2; die "failed: $*"; }
}
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# The Debian packages, all in this one place: what `make demo` needs, then what `make test`
# adds. Another Docker on the machine (docker-ce …) stays: docker.io comes only when no
# `docker` CLI or no `dockerd` is on PATH, runc only when no `runc` is, curl only to fetch
# rustup.
demo_packages=(
  make git ca-certificates    # the build (and crates.io over TLS)
  gcc libc6-dev               # linking the host-side crates
  iproute2 iptables           # the bridge backend
  procps util-linux           # the demo's and the engines' process and namespace tools
)
test_packages=(
  g++                         # libFuzzer, for the fuzz smoke
  busybox-static tini         # test images; tini is also the other engines' docker-init
  skopeo docker-registry      # the registry tests
  qemu-user-static            # the arm64 images
  docker-compose python3-docker   # clients no one here wrote, driven by the tests
  file time hyperfine         # make bench
)
packages=("${demo_packages[@]}")
[ "$what" = demo ] || packages+=("${test_packages[@]}")
command -v docker >/dev/null && command -v dockerd >/dev/null || packages+=(docker.io)
[ "$what" = demo ] || command -v runc >/dev/null || packages+=(runc)
command -v cargo >/dev/null || packages+=(curl)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing Debian packages: ${missing[*]} (run as root, or apt-get install them)"
  say "installing Debian packages: ${missing[*]}"
  # apt's own chatter (debconf's notes …) only on failure.
  quietly apt-get update -qq
  quietly env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null; then
  base=https://static.rust-lang.org/rustup/dist/x86_64-unknown-linux-gnu
  say "installing Rust $rust_toolchain (rustup, minimal profile) into ${CARGO_HOME:-$HOME/.cargo}"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  curl -sSfL --proto '=https' -o "$tmp/rustup-init" "$base/rustup-init"
  curl -sSfL --proto '=https' -o "$tmp/rustup-init.sha256" "$base/rustup-init.sha256"
  [ "$(cut -d' ' -f1 "$tmp/rustup-init.sha256")" = "$(sha256sum "$tmp/rustup-init" | cut -d' ' -f1)" ] ||
    die "rustup-init does not match its published sha256"
  chmod +x "$tmp/rustup-init"
  quietly "$tmp/rustup-init" -y --profile minimal --default-toolchain "$rust_toolchain" --no-modify-path
  say "Rust is in ${CARGO_HOME:-$HOME/.cargo}/bin (add it to your PATH to run cargo yourself)"
fi

targets=(x86_64-unknown-linux-musl)
[ "$what" = demo ] || targets+=(aarch64-unknown-linux-musl)
have=$(rustup target list --installed)
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$have" || { say "adding the Rust target $t"; quietly rustup target add "$t"; }
done
if [ "$what" = test ]; then
  have=$(rustup component list --installed)
  for c in rustfmt clippy; do
    grep -q "^$c" <<<"$have" || { say "adding the Rust component $c"; quietly rustup component add "$c"; }
  done
fi

answers() { timeout 20 docker info >/dev/null 2>&1; }
if ! answers; then
  [ -z "${DOCKER_HOST:-}" ] || die "no Docker daemon answers at DOCKER_HOST=$DOCKER_HOST"
  [ "$(id -u)" = 0 ] || die "no Docker daemon answers, and starting one needs root"
  # The clean signal state init would give the daemon: see mk/sigdefault.sh.
  clean=$(dirname "$0")/sigdefault.sh
  log=/var/log/docker.log
  if [ -d /run/systemd/system ]; then
    how="systemctl start docker" stop="systemctl stop docker" log="journalctl -u docker"
    systemctl start docker
  elif [ -x /etc/init.d/docker ] && out=$("$clean" /etc/init.d/docker start 2>&1); then
    how="/etc/init.d/docker start" stop="/etc/init.d/docker stop"
  else
    # No service manager, or Debian's script failed (it raises the open-files hard limit,
    # which a container without CAP_SYS_RESOURCE refuses): dockerd itself, as the script
    # would run it.
    [ -z "${out:-}" ] || say "/etc/init.d/docker start failed: ${out//$'\n'/ }"
    command -v dockerd >/dev/null || die "no Docker daemon answers and there is no dockerd to start"
    setsid "$clean" dockerd >>"$log" 2>&1 </dev/null &
    how="dockerd (pid $!)" stop="kill $!"
  fi
  for _ in $(seq 1 60); do answers && break; sleep 1; done
  answers || die "started Docker ($how), but it did not answer within 60 s: see $log"
  say "no Docker daemon answered: started $how, log $log; it keeps running (stop it with \`$stop\`)"
fi
