#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# enospc.sh - a full disk in the middle of a write: okvm img writing onto a
# 4 MiB tmpfs (in a private mount namespace: unshare -m as root, -rm as a
# user) fails with exit status 1 and one line naming the file and "No
# space left on device", and the image it leaves is not corrupt:
# qemu-img check exits 0 or 3 (leaks allowed), and each 64 KiB of the
# disk qemu-img reads from it is the data that was being written or, where
# the write never arrived, zeroes: never anything else. Metadata too: a
# snapshot or a resize that runs out of space leaves no half-made snapshot
# and the old size. Prints TAP.
#
# OKVM: the okvm binary (default build/user-san/okvm).
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
okvm=${OKVM:-$top/build/user-san/okvm}

if [ -z "${ENOSPC_INSIDE:-}" ]; then
	export OKVM="$okvm" ENOSPC_INSIDE=1
	for u in "-m" "-rm"; do
		if unshare $u true 2> /dev/null; then
			exec unshare $u "$0" "$@"
		fi
	done
	echo "ok 1 enospc # SKIP no mount namespace (unshare -m / -rm refused)"
	echo "1..1"
	exit 0
fi

dir=$(mktemp -d /tmp/okvm-enospc.XXXXXX)
trap 'umount "$dir/small" 2> /dev/null; rm -rf "$dir"' EXIT
cd "$dir" || exit 1
mkdir small
if ! mount -t tmpfs -o size=4m okvm-enospc small; then
	echo "ok 1 enospc # SKIP cannot mount a tmpfs"
	echo "1..1"
	exit 0
fi
n=0
fail=0

# fails_full NAME ARGS...: okvm img ARGS fails with 1 and one line about
# ENOSPC naming a file under small/
fails_full() {
	local name=$1 out rc
	shift
	out=$(timeout 60 "$okvm" img "$@" 2>&1 >/dev/null)
	rc=$?
	n=$((n + 1))
	if [ $rc = 1 ] && [ "$(printf '%s\n' "$out" | grep -c .)" = 1 ] &&
	   printf '%s' "$out" | grep -q "^okvm img: [^ ]*small/[^:]*: .*No space left on device"; then
		echo "ok $n $name: exit 1, one line: $out"
	else
		echo "not ok $n $name: exit $rc: $out"
		fail=1
	fi
}

# not_corrupt NAME IMAGE REFERENCE [ARGS]: qemu-img check finds no
# corruption, and each 64 KiB of IMAGE reads as REFERENCE's or as zeroes
not_corrupt() {
	local name=$1 img=$2 ref=$3 rc why=
	shift 3
	qemu-img check "$@" "$img" > check.out 2>&1
	rc=$?
	if [ $rc != 0 ] && [ $rc != 3 ]; then
		why="qemu-img check exit $rc: $(grep -v Leaked check.out | head -n 3 | tr '\n' ' ')"
	elif ! qemu-img convert -O raw "$@" "$img" readback.raw; then
		why="qemu-img convert failed"
	elif ! python3 - readback.raw "$ref" <<'EOF'
import sys
a = open(sys.argv[1], "rb").read()
b = open(sys.argv[2], "rb").read()
c = 65536
zero = bytes(c)
bad = [i // c for i in range(0, len(a), c)
       if a[i:i + c] != b[i:i + c] and a[i:i + c] != zero[:len(a[i:i + c])]]
if bad:
    print("clusters neither the data written nor zero:", bad[:8])
    sys.exit(1)
EOF
	then
		why="a cluster holds other data"
	fi
	n=$((n + 1))
	if [ -z "$why" ]; then
		echo "ok $n $name: qemu-img check $rc ($(grep -c Leaked check.out) leaked clusters), data intact"
	else
		echo "not ok $n $name: $why"
		fail=1
	fi
}

head -c 8M /dev/urandom > src.raw

# convert: the data outgrows the file system
fails_full "convert -O qcow2 onto a full disk" convert -O qcow2 src.raw small/c.qcow2
not_corrupt "convert -O qcow2: the image left" small/c.qcow2 src.raw
rm -f small/c.qcow2
fails_full "convert -O raw onto a full disk" convert -O raw src.raw small/c.raw
rm -f small/c.raw

# commit: an overlay's 8 MiB into a backing file on the small disk
qemu-img create -q -f qcow2 small/base.qcow2 8M
qemu-img create -q -f qcow2 -b "$dir/small/base.qcow2" -F qcow2 ov.qcow2
qemu-io -f qcow2 -c "write -P 0x5a 0 8M" ov.qcow2 > /dev/null
head -c 8M /dev/zero | tr '\0' '\132' > ov.raw
fails_full "commit into a backing file on a full disk" commit ov.qcow2
not_corrupt "commit: the backing file left" small/base.qcow2 ov.raw
rm -f small/base.qcow2 ov.qcow2 ov.raw

# metadata: an image with data, then the disk filled up to the last byte;
# a snapshot and a resize need new clusters (L1 copy, snapshot table,
# larger L1 and refcount blocks)
head -c 2M src.raw > two.raw
"$okvm" img convert -O qcow2 two.raw small/m.qcow2
dd if=/dev/zero of=small/fill bs=4k 2> /dev/null
fails_full "snapshot -c on a full disk" snapshot -c s1 small/m.qcow2
not_corrupt "snapshot -c: the image left" small/m.qcow2 two.raw
n=$((n + 1))
if ! qemu-img snapshot -l small/m.qcow2 | grep -q s1; then
	echo "ok $n snapshot -c: no half-made snapshot listed"
else
	echo "not ok $n snapshot -c: qemu-img lists s1 after the failure"
	fail=1
fi
fails_full "resize +1G on a full disk" resize small/m.qcow2 +1G
not_corrupt "resize: the image left" small/m.qcow2 two.raw
n=$((n + 1))
if [ "$(qemu-img info --output=json small/m.qcow2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" = 2097152 ]; then
	echo "ok $n resize: the size is the old one"
else
	echo "not ok $n resize: the size changed after the failure"
	fail=1
fi

echo "1..$n"
exit $fail
