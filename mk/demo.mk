# make demo: the product's main job, on any Debian machine (mk/setup.sh installs what is
# missing and starts dockerd when none answers): build and load the
# images, create the weavewait volume container, start the proxy with the native bridge
# backend, then run the example through DOCKER_HOST=unix:///… as the original walkthrough
# did, print what it saw, and clean up.
#   DEMO_BRIDGE (default pwdemo0), DEMO_VOLUME (default weavewait), DEMO_CIDR (default
#   10.255.0.51/24) adjust it.
DEMO_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)

demo: setup-demo load
	bash mk/demo.sh $(STATIC_DIR)/powerstrip-weave $(DEMO_VERSION)
