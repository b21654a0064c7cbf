# The waiter: wait-for-weave.
#   make bench-waiter   size, exec overhead when ready, address -> app latency, peak RSS
#   make demo-waiter    a container waits, gets ethwe attached from the host, runs
WAITER_PACKAGES += waiter
BENCHES += bench-waiter

WAITER_BIN := $(WAITER_DIR)/wait-for-weave
# A tiny static program for the benchmarks (Debian busybox-static) and tini for comparison.
BENCH_TINY ?= /bin/busybox
BENCH_TINI ?= /usr/bin/tini-static

.PHONY: bench-waiter demo-waiter
bench-waiter: static
	cargo build --release -p waiter-bench
	target/release/waiter-bench $(WAITER_BIN) $(BENCH_TINY) $(BENCH_TINI)

demo-waiter: images
	bench/waiter-demo.sh $(IMAGE_DIR)/weavewait.tar
