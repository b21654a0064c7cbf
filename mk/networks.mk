# Docker networks, one host or many (docs/cluster.md): the network:NAME backend.
#   make bench-networks   start → app running (p50/p99) with the bridge backend and the
#                         network backend (local bridge network, swarm overlay on a 2-host
#                         simulated cluster), connect after vs before the start, and bursts
#                         of docker run through the proxy beside plain docker run
#                         (BENCH_NETWORK_RUNS=50, BENCH_BURST=50)
#   make demo-cluster     three simulated hosts, one proxy each, the vanilla CLI
BENCHES += bench-networks

BENCH_NETWORK_RUNS ?= 50
BENCH_BURST ?= 50

.PHONY: bench-networks demo-cluster

bench-networks: static cluster-images
	docker load -i $(IMAGE_DIR)/weavewait.tar
	docker load -i $(IMAGE_DIR)/weavewait-example.tar
	BENCH_NETWORK_RUNS=$(BENCH_NETWORK_RUNS) BENCH_BURST=$(BENCH_BURST) \
	  cargo bench -p adapter --bench networks

demo-cluster: static cluster-images
	bash mk/demo-cluster.sh $(STATIC_DIR)/powerstrip-weave $(CLUSTER_IMAGE_ARGS)
