# Simulated hosts: N "hosts" on this machine for multi-host tests and demos.
#
# mk/cluster.sh is the harness (its header has every command and option). Host N is a
# network namespace pwc-<id>-hN with eth0 = 198.18.0.N/24 on a switch (bridge br0 in
# namespace pwc-<id>-sw), a hostname hN and a dockerd of its own (state, socket and log in
# $PWC_ROOT/<id>/hN, default PWC_ROOT=/var/tmp/pwc; containerd started by that dockerd;
# containers in cgroup /pwc-<id>-hN). Host 1 inits a swarm and the others join it as
# workers over the switch; host 1 creates an attachable overlay network; every host
# `docker load`s the images, then one container per host joins the network and leaves,
# proving the network reaches every host. Every wait is bounded and a failure names what
# did not come; a failed `up` removes what it made.
#
#   make cluster-up [N=3]      build a cluster of N hosts (kept until cluster-down) and
#                              print it as KEY=VALUE lines: PWC_ID, PWC_NETWORK, PWC_SUBNET,
#                              PWC_HOST_<n> (a DOCKER_HOST for host n), PWC_ADDR_<n> …
#   make cluster-down          tear down every cluster made by cluster-up (and any whose
#                              owner died); CLUSTER=<id> tears down that one only. Each
#                              teardown verifies that no process, mount, network namespace,
#                              cgroup or directory of the cluster is left, and that nothing
#                              still refers to its network namespaces.
#   make cluster-list          the clusters on this machine and their owners
#   make test-cluster          the multi-host tests (tests/tests/cluster)
#   make bench-cluster         build time (2 and 3 hosts), connect latency, ping RTT,
#                              teardown time and peak memory, against single-host references
#
# Building blocks for scripts (e.g. a multi-host demo), in shell:
#   id=$(bash mk/cluster.sh up --hosts 3 --owner $$ --image A.tar … | sed -n 's/^PWC_ID=//p')
#   trap "bash mk/cluster.sh down $id" EXIT     # should the script die, its cluster is stale
#   DOCKER_HOST=$(bash mk/cluster.sh host "$id" 2) docker ps     # or powerstrip-weave proxy …
#   bash mk/cluster.sh stop|start "$id" N                       # one host's dockerd
# `make cluster-images` builds what $(CLUSTER_IMAGE_ARGS) loads: the product's images
# (target/images) and the busybox test image (target/cluster/pw-test-busybox.tar, whose
# pw-test-busybox:latest the probe runs).
#
# Engines: the system's dockerd unless ENGINE_DIR=/dir (dockerd, containerd and the shim
# first on PATH) or DOCKERD=/path/dockerd [CONTAINERD=/path/containerd] is set; another
# engine runs with the system's runc as its default runtime.
# Needs root, iproute2, util-linux (nsenter, unshare, flock), docker.io, busybox-static.

N ?= 3
CLUSTER ?=
CLUSTER_NETWORK ?= wnet
CLUSTER_SUBNET ?= 10.255.0.0/16
CLUSTER_DIR := target/cluster
CLUSTER_SH := bash mk/cluster.sh
CLUSTER_BUSYBOX := $(CLUSTER_DIR)/pw-test-busybox.tar
CLUSTER_IMAGE_ARGS = $(foreach i,$(IMAGES),--image $(IMAGE_DIR)/$(i).tar) --image $(CLUSTER_BUSYBOX)
BENCHES += bench-cluster

.PHONY: cluster-images cluster-up cluster-down cluster-list test-cluster bench-cluster

cluster-images: images image-kit
	$(IMAGE_KIT) --out $(CLUSTER_DIR) --image-version $(IMAGE_VERSION) --revision $(IMAGE_REVISION) \
	  tests/images/busybox.toml

cluster-up: cluster-images
	$(CLUSTER_SH) up --hosts $(N) --network $(CLUSTER_NETWORK) --subnet $(CLUSTER_SUBNET) \
	  $(CLUSTER_IMAGE_ARGS)

cluster-down:
	$(if $(CLUSTER),$(CLUSTER_SH) down $(CLUSTER),$(CLUSTER_SH) sweep --manual)

cluster-list:
	$(CLUSTER_SH) list

test-cluster: static images
	cargo test -p e2e --test cluster

bench-cluster: cluster-images
	bash mk/cluster-bench.sh $(CLUSTER_IMAGE_ARGS)
