# The image kit: target/images/<name>.tar for every image spec images/<name>.toml in IMAGES.
#   make images [PLATFORMS=linux/amd64,linux/arm64]   build the archives (default: each spec's platforms)
#   make load                                         docker load every archive
#   make push REGISTRY=host:port                      skopeo copy every image, both tags
#   make bench-images                                 build time and archive sizes
IMAGES += weavewait weavewait-example powerstrip-weave
STATIC_PACKAGES += adapter weavewait-example

PLATFORMS ?=
REGISTRY ?=
# Our own images say they are ours: the kit stamps what it is given where a spec is silent,
# and nothing else (images/README.md). The revision is this checkout's commit, or none when
# this directory is not the top of a git checkout (e.g. an unpacked release tarball).
IMAGE_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
IMAGE_SOURCE := $(shell sed -n 's/^repository = "\(.*\)"/\1/p' Cargo.toml | head -1)
IMAGE_REVISION ?= $(shell [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = "$(CURDIR)" ] && git rev-parse HEAD)
IMAGE_KIT_FLAGS = --image-version $(IMAGE_VERSION) --source $(IMAGE_SOURCE) \
  $(if $(IMAGE_REVISION),--revision $(IMAGE_REVISION))
IMAGE_KIT := target/release/image-kit
IMAGE_SPECS = $(foreach i,$(IMAGES),images/$(i).toml)
# arm64 binaries link with the linker shipped with Rust: no C cross-compiler needed.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER ?= rust-lld
# Plain-HTTP registries on the loopback need TLS verification off; others keep it on.
SKOPEO_PUSH_FLAGS ?= $(if $(filter 127.% localhost%,$(REGISTRY)),--dest-tls-verify=false)

.PHONY: image-kit static-arm64 push push-registry-set

image-kit:
	cargo build --release -p images --bin image-kit

static-arm64:
	@rustup target list --installed | grep -qx '$(MUSL_ARM)' || rustup target add $(MUSL_ARM)
	cargo build --release --target $(MUSL_ARM) $(addprefix -p ,$(STATIC_PACKAGES))
	cargo build --profile release-waiter --target $(MUSL_ARM) $(addprefix -p ,$(WAITER_PACKAGES))

# arm64 binaries are built when PLATFORMS or a spec's `platforms` asks for arm64.
WANT_ARM64 = $(or $(findstring arm64,$(PLATFORMS)),$(if $(PLATFORMS),,$(shell grep -l 'linux/arm64' $(IMAGE_SPECS) 2>/dev/null)))
images: static image-kit $(if $(WANT_ARM64),static-arm64)
	$(IMAGE_KIT) --out $(IMAGE_DIR) $(IMAGE_KIT_FLAGS) \
	  $(if $(PLATFORMS),--platforms $(PLATFORMS)) $(IMAGE_SPECS)

load: images
	for i in $(IMAGES); do docker load -i $(IMAGE_DIR)/$$i.tar; done

push-registry-set:
	@test -n "$(REGISTRY)" || { echo "usage: make push REGISTRY=host:port"; exit 2; }

push: push-registry-set images
	for i in $(IMAGES); do for t in latest $(IMAGE_VERSION); do \
	  skopeo copy --all --preserve-digests $(SKOPEO_PUSH_FLAGS) \
	    oci-archive:$(IMAGE_DIR)/$$i.tar docker://$(REGISTRY)/$$i:$$t; done; done

# The multi-platform tests need the small arm64 binaries (waiter, example).
.PHONY: static-arm64-test
static-arm64-test:
	@rustup target list --installed | grep -qx '$(MUSL_ARM)' || rustup target add $(MUSL_ARM)
	cargo build --release --target $(MUSL_ARM) -p weavewait-example
	cargo build --profile release-waiter --target $(MUSL_ARM) $(addprefix -p ,$(WAITER_PACKAGES))
test: static-arm64-test

# Benchmark: build time of all images, their sizes and what the format costs.
BENCHES += bench-images
.PHONY: bench-images
bench-images: images
	bench/images.sh $(IMAGE_KIT) $(IMAGE_KIT_FLAGS) \
	  $(if $(PLATFORMS),--platforms $(PLATFORMS)) $(IMAGE_SPECS)
