#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# fuzz-seeds.sh DIR - a seed corpus for fuzz_qcow2: small images made by
# qemu-img (cluster sizes, refcount widths, compat 0.10, data, zero and
# compressed clusters, a snapshot, a backing file name), truncated to
# their first 256 KiB.
set -eu
dir=$1
mkdir -p "$dir"
tmp=$(mktemp -d /tmp/okvm-seeds.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
i=0
seed() {
	head -c 262144 "$1" > "$dir/seed-$i.qcow2"
	i=$((i + 1))
}
for o in cluster_size=512 cluster_size=4k,refcount_bits=1 \
	 cluster_size=64k,refcount_bits=64 compat=0.10 cluster_size=2M; do
	qemu-img create -q -f qcow2 -o "$o" "$tmp/a.qcow2" 1M
	qemu-io -f qcow2 -c "write -P 7 0 3k" -c "write -z 64k 64k" "$tmp/a.qcow2" > /dev/null
	seed "$tmp/a.qcow2"
done
qemu-img snapshot -c s "$tmp/a.qcow2"
seed "$tmp/a.qcow2"
head -c 65536 /dev/urandom > "$tmp/r.raw"
qemu-img convert -c -O qcow2 -o cluster_size=4k "$tmp/r.raw" "$tmp/c.qcow2"
seed "$tmp/c.qcow2"
qemu-img create -q -f qcow2 -b base.raw -F raw -u "$tmp/b.qcow2" 1M
seed "$tmp/b.qcow2"
