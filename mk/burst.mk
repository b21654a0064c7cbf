# A burst of containers started at once through the proxy, beside the same plain runs.
#   make bench-burst [BURST=100] [BURST_ROUNDS=2]
#       BURST `docker run --rm` at once with distinct WEAVE_CIDR addresses, straight at the
#       daemon and through the proxy (bridge backend, events on), rounds alternating which
#       goes first: wall times, their ratio, how many apps saw their address, and the
#       proxy's resident set (idle, and its peak, VmHWM). The e2e test of the same burst
#       (tests/tests/proxy/burst.rs) checks every run and what is left; this prints figures.
BENCHES += bench-burst

BURST ?= 100
BURST_ROUNDS ?= 2

.PHONY: bench-burst

bench-burst: static images cluster-images
	BURST=$(BURST) ROUNDS=$(BURST_ROUNDS) bash mk/burst-bench.sh $(STATIC_DIR)/powerstrip-weave \
	  $(IMAGE_DIR)/weavewait.tar $(CLUSTER_BUSYBOX)
