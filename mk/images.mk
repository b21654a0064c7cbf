# The image kit: target/images/<name>.tar for every image spec.
images: static
	@echo "images: no image specs yet"

load: images
