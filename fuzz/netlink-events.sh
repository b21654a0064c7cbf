#!/bin/sh
# The link and address events captured as seeds for the `netlink` fuzz target
# (`make fuzz-capture-netlink` runs this in a network namespace of its own): ethwe the way
# `weave attach` makes it (a veth created under another name, addressed, renamed, set up),
# an IPv6 address through duplicate address detection, a point-to-point address, and a
# second link that goes down, loses its address and is deleted.
set -eu
ip link add vethwepl1 type veth peer name vethwepg1
ip link set vethwepg1 up
ip addr add 10.255.0.51/24 dev vethwepl1
ip link set vethwepl1 name ethwe
ip link set ethwe up
ip -6 addr add fd00::51/64 dev ethwe
# Tentative until duplicate address detection is done (about a second).
sleep 3
ip addr add 10.0.0.1 peer 10.0.0.2/32 dev ethwe
ip link add gone type veth peer name gonepeer
ip addr add 10.9.0.1/16 dev gone
ip link set gone up
ip link set gone down
ip addr del 10.9.0.1/16 dev gone
ip link del gone
