#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench.sh [SIZE_MIB] - the block layer's throughput next to qemu-img bench
# on the same files: raw, fully allocated qcow2, and an empty qcow2
# overlay over the raw file (reads go through to the backing file, writes
# allocate). cache=none (O_DIRECT) for both, 16 requests in flight, the
# same 4 I/O threads for okvm as qemu-img's thread pool would use.
# qemu-img bench is sequential only: compare okvm's seq-* lines with it.
# 1 MiB lines: iops=N is also MiB/s. Then, if fio is installed, the
# question of io_uring against a thread pool on the raw file: fio with
# io_uring (one thread, 16 in flight) beside fio with 4 threads in
# blocking pread/pwrite (psync), which is what okvm's I/O threads do.
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

# io_uring or a thread pool (Documentation/images.rst says which and why)
if command -v fio > /dev/null; then
	echo "== raw.img: fio, O_DIRECT, io_uring (depth 16) / psync (4 threads)"
	for rw in randread:4k randwrite:4k read:1M write:1M; do
		for engine in "io_uring --iodepth=16 --numjobs=1" "psync --numjobs=4"; do
			# shellcheck disable=SC2086
			fio --name=b --filename=raw.img --direct=1 --rw=${rw%:*} \
				--bs=${rw#*:} --ioengine=$engine --group_reporting \
				--time_based --runtime="$secs" --output-format=terse \
				--terse-version=3 |
			awk -F';' -v e="${engine%% *}" -v c="$rw" '{
				printf "fio: %-12s %-8s iops=%.0f mib_s=%.1f\n", c, e,
				       $8 + $49, ($7 + $48) / 1024 }'
		done
	done
else
	echo "== no fio: io_uring against a thread pool not measured"
fi
