# The Docker API proxy: `powerstrip-weave proxy` (built by the adapter's static build).
#   make bench-proxy   docker run --rm through the proxy vs direct (paired runs, ratio) and
#                      GET /_ping throughput through the proxy vs direct
BENCHES += bench-proxy

BENCH_RUNS ?= 20
PING_SECONDS ?= 3
PING_CONNECTIONS ?= 4

.PHONY: bench-proxy ping-load

ping-load:
	cargo build --release -p adapter --example ping_load

bench-proxy: static ping-load
	RUNS=$(BENCH_RUNS) PING_SECONDS=$(PING_SECONDS) PING_CONNECTIONS=$(PING_CONNECTIONS) \
	  bash mk/proxy-bench.sh $(STATIC_DIR)/powerstrip-weave target/release/examples/ping_load
