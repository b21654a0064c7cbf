# powerstrip-weave: build, static, images, load, demo, test, bench, lint, fuzz.
# Each part of the product adds its own rules and prerequisites in mk/<part>.mk.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
MUSL := x86_64-unknown-linux-musl
MUSL_ARM := aarch64-unknown-linux-musl
STATIC_DIR := target/$(MUSL)/release
# The waiter has a release profile of its own (size first, panic=abort): see Cargo.toml.
WAITER_DIR := target/$(MUSL)/release-waiter
IMAGE_DIR := target/images
# rustup's cargo, also when mk/setup.sh has just installed it.
export PATH := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin:$(PATH)
# Every time field in the images comes from here (reproducible builds); outside a git
# checkout it is empty and the images carry no created time.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null)
export SOURCE_DATE_EPOCH

# Extended by mk/*.mk: static packages built with the release profile, and those built with
# the waiter's profile.
STATIC_PACKAGES :=
WAITER_PACKAGES :=
IMAGES :=
BENCHES :=

# The Docker Engines `make test` runs the end-to-end tests against, one after the other
# (mk/e2e.sh): `system` is the daemon DOCKER_HOST (else /var/run/docker.sock) names, Debian
# 12's 20.10 on a machine set up here; 26.1 and 28.5 are Debian 13's and unstable's, fetched
# and started by mk/engines.sh. ENGINE=TESTS restricts an engine to some test binaries: the
# three full runs do not fit CI's 30 minutes on 2 cores, so the full suite runs on 20.10 and
# the Docker-facing waiter, adapter and proxy tests on the others (README, Tests).
ENGINES ?= system 26.1=waiter,adapter,proxy 28.5=waiter,adapter,proxy

.PHONY: all build static images load demo test bench lint musl-target install setup-demo setup-test
all: build

include $(sort $(wildcard mk/*.mk))

build:
	cargo build --release --workspace

musl-target:
	@rustup target list --installed | grep -qx '$(MUSL)' || rustup target add $(MUSL)

static: musl-target
	cargo build --release --target $(MUSL) $(addprefix -p ,$(STATIC_PACKAGES))
	cargo build --profile release-waiter --target $(MUSL) $(addprefix -p ,$(WAITER_PACKAGES))

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

# What `make demo` and `make test` need, installed when missing (Debian packages, Rust and
# its musl targets, a running dockerd): see mk/setup.sh. Quiet when all is there.
setup-demo:
	@bash mk/setup.sh demo
setup-test:
	@bash mk/setup.sh test

# The end-to-end tests use the static binaries and the image archives, so build them first;
# they are built before they run in an engine's network namespace, which has no network.
test: setup-test lint static images
	cargo test --workspace --exclude e2e --no-fail-fast
	cargo test -p e2e --no-run
	bash mk/e2e.sh $(ENGINES)

bench: static images $(BENCHES)

# The two static binaries on PATH (PREFIX=/usr/local; DESTDIR for packaging).
PREFIX ?= /usr/local
install: static
	install -D -m 0755 $(WAITER_DIR)/wait-for-weave $(DESTDIR)$(PREFIX)/bin/wait-for-weave
	install -D -m 0755 $(STATIC_DIR)/powerstrip-weave $(DESTDIR)$(PREFIX)/bin/powerstrip-weave
