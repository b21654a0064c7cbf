# The Docker API proxy: `powerstrip-weave proxy` (built by the adapter's static build).
#   make bench-proxy   docker run --rm through the proxy vs direct (paired runs, ratio) and
#                      GET /_ping throughput through the proxy vs direct
#   make bench-reach   time for a peer to reach a container again after docker restart,
#                      bridge backend vs Docker's own bridge network
BENCHES += bench-proxy bench-reach

BENCH_RUNS ?= 20
PING_SECONDS ?= 3
PING_CONNECTIONS ?= 4

.PHONY: bench-proxy bench-reach ping-load

ping-load:
	cargo build --release -p adapter --example ping_load

bench-proxy: static ping-load
	RUNS=$(BENCH_RUNS) PING_SECONDS=$(PING_SECONDS) PING_CONNECTIONS=$(PING_CONNECTIONS) \
	  bash mk/proxy-bench.sh $(STATIC_DIR)/powerstrip-weave target/release/examples/ping_load

REACH_RUNS ?= 5

bench-reach: static images
	docker load -i $(IMAGE_DIR)/weavewait.tar
	RUNS=$(REACH_RUNS) bash mk/reach-bench.sh $(STATIC_DIR)/powerstrip-weave weavewait:latest
