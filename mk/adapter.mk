# The adapter: powerstrip-weave (powerstrip adapter, launch, native attach).
#   make bench-adapter   pre-hook throughput and p50/p99 (with and without the image lookup)
#                        and attach latency with the bridge backend, against the real dockerd
STATIC_PACKAGES += adapter
BENCHES += bench-adapter

.PHONY: bench-adapter
bench-adapter: images
	docker load -i $(IMAGE_DIR)/weavewait.tar
	docker load -i $(IMAGE_DIR)/weavewait-example.tar
	cargo bench -p adapter --bench adapter
