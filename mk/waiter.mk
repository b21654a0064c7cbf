# The waiter: wait-for-weave.
STATIC_PACKAGES += waiter
