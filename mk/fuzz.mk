# Fuzzing: libFuzzer (the libfuzzer-sys crate) on the stable toolchain. No cargo subcommand
# is needed: cargo-fuzz would only set these RUSTFLAGS (SanitizerCoverage instrumentation,
# all stable flags); no sanitizer, since the code under test is safe Rust (overflow and debug
# assertions are on through the `fuzz` profile instead).
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_RUNS=N] [FUZZ_TARGETS="cidr netlink"]
#                        every target for FUZZ_SECONDS each (or N executions, whichever ends
#                        first); prints executions, coverage and crashes per target
#   make fuzz-smoke      every target for FUZZ_SMOKE_SECONDS (10) each; part of make test
#   make fuzz-cmin [FUZZ_CMIN_ADD=1]   minimises the committed seeds of fuzz/corpus/ (with 1:
#                        also adds the inputs found by earlier runs that add coverage)
#   make fuzz-capture-netlink   re-records the kernel datagrams of fuzz/corpus/netlink/
#                        (then make fuzz-cmin FUZZ_TARGETS=netlink)
# Targets are the directories of fuzz/corpus/; fuzz/README.md says how to add one.

FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_RUNS ?=
FUZZ_CMIN_ADD ?=
FUZZ_TARGETS ?= $(notdir $(wildcard fuzz/corpus/*))
# Asked when used, with the Makefile's PATH: on a fresh machine `make test` installs Rust
# (mk/setup.sh) after this file is read.
FUZZ_HOST = $(shell PATH='$(PATH)' rustc -vV 2>/dev/null | sed -n 's/^host: //p')
FUZZ_OUT := target/fuzz
FUZZ_BIN := $(FUZZ_OUT)/$(FUZZ_HOST)/fuzz/fuzz
FUZZ_RUSTFLAGS := -Cpasses=sancov-module \
  -Cllvm-args=-sanitizer-coverage-level=4 \
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
  -Cllvm-args=-sanitizer-coverage-pc-table \
  -Cllvm-args=-sanitizer-coverage-trace-compares \
  -Cllvm-args=-sanitizer-coverage-stack-depth \
  -Cllvm-args=-simplifycfg-branch-fold-threshold=0 \
  --cfg fuzzing

.PHONY: fuzz fuzz-build fuzz-smoke fuzz-cmin fuzz-capture-netlink

# --target keeps the instrumentation away from build scripts and proc macros; the target
# directory of its own keeps these flags from invalidating the ordinary builds.
fuzz-build:
	RUSTFLAGS="$(FUZZ_RUSTFLAGS)" cargo build --locked -p fuzz-checks --features libfuzzer \
	  --bin fuzz --profile fuzz --target $(FUZZ_HOST) --target-dir $(FUZZ_OUT)

fuzz: fuzz-build
	bash mk/fuzz-run.sh $(FUZZ_BIN) $(FUZZ_OUT) '$(FUZZ_SECONDS)' '$(FUZZ_RUNS)' $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	bash mk/fuzz-run.sh $(FUZZ_BIN) $(FUZZ_OUT) '$(FUZZ_SMOKE_SECONDS)' '' $(FUZZ_TARGETS)

test: fuzz-smoke

fuzz-cmin: fuzz-build
	bash mk/fuzz-cmin.sh $(FUZZ_BIN) $(FUZZ_OUT) '$(FUZZ_CMIN_ADD)' $(FUZZ_TARGETS)

fuzz-capture-netlink:
	cargo build -p fuzz-checks --example netlink_capture
	rm -rf fuzz/corpus/netlink
	unshare --net sh -c 'ip link set lo up && \
	  target/debug/examples/netlink_capture fuzz/corpus/netlink sh fuzz/netlink-events.sh'
