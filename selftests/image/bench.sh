#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench.sh [SIZE_MIB] - the block layer's throughput next to qemu-img bench
# on the same files: raw, fully allocated qcow2, and an empty qcow2
# overlay over the raw file (reads go through to the backing file, writes
# allocate). cache=none (O_DIRECT) for both, 16 requests in flight, the
# same 4 I/O threads for okvm as qemu-img's thread pool would use.
# qemu-img bench is sequential only: compare okvm's seq-* lines with it.
# Not a test: figures, no verdict. Files go to build/image-bench/.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
size=${1:-512}
bench=$top/build/image/blk_bench-opt
dir=$top/build/image-bench
mkdir -p "$dir"
cd "$dir"
secs=${BENCH_SECONDS:-3}

rm -f raw.img alloc.qcow2 overlay.qcow2
head -c $((size << 20)) /dev/urandom > raw.img
qemu-img convert -O qcow2 raw.img alloc.qcow2
qemu-img create -q -f qcow2 -b raw.img -F raw overlay.qcow2

# qbench FILE FMT BS [-w]: ops/s of qemu-img bench, one pass over the file
qbench() {
	local count=$((size * 256)) secs
	[ "$3" = 1M ] && count=$size
	secs=$(qemu-img bench -f "$2" -t none -d 16 -s "$3" -c $count ${4:-} "$1" 2>&1 |
		sed -n 's/.*Run completed in \([0-9.]*\) seconds.*/\1/p')
	awk -v c=$count -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f", c / s; else printf "failed" }'
}

for f in raw.img:raw alloc.qcow2:qcow2 overlay.qcow2:qcow2; do
	file=${f%:*} fmt=${f#*:}
	echo "== $file"
	[ "$file" = overlay.qcow2 ] && qemu-img create -q -f qcow2 -b raw.img -F raw overlay.qcow2
	"$bench" -n -T "$secs" "$file"
	[ "$file" = overlay.qcow2 ] && qemu-img create -q -f qcow2 -b raw.img -F raw overlay.qcow2
	echo "qemu-img bench: seq-read-4k  iops=$(qbench $file $fmt 4k)"
	echo "qemu-img bench: seq-write-4k iops=$(qbench $file $fmt 4k -w)"
	[ "$file" = overlay.qcow2 ] && qemu-img create -q -f qcow2 -b raw.img -F raw overlay.qcow2
	echo "qemu-img bench: seq-read-1m  iops=$(qbench $file $fmt 1M)"
	echo "qemu-img bench: seq-write-1m iops=$(qbench $file $fmt 1M -w)"
done
