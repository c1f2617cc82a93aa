#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# interop.sh - okvm img against Debian's qemu-img, both ways:
#   - images qemu-img makes (every cluster size class, refcount widths,
#     compat 0.10, zero clusters, backing chains, snapshots, compressed)
#     read byte-identical through okvm (okvm img convert -O raw) and pass
#     okvm img check;
#   - images okvm makes (create, convert to qcow2 with each cluster size
#     and refcount width, convert -c, resize) pass qemu-img check and read
#     byte-identical through qemu-img;
#   - info --output=json has qemu-img's fields and values; check's exit
#     codes and repairs match qemu-img's.
# Prints TAP. OKVM: the okvm binary (default build/user-san/okvm).
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
okvm=${OKVM:-$top/build/user-san/okvm}
dir=$(mktemp -d /tmp/okvm-interop.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
n=0
fail=0

t0=$SECONDS
result() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n $2 ($((SECONDS - t0)) s)"
	else
		echo "not ok $n $2 ($((SECONDS - t0)) s)"
		[ -s log ] && sed 's/^/# /' log | tail -n 20
		fail=1
	fi
	: > log
	t0=$SECONDS
}

# same_as_qemu IMAGE: okvm and qemu-img flatten it to the same bytes
same_as_qemu() {
	rm -f okvm.raw qemu.raw
	qemu-img convert -O raw "$1" qemu.raw >> log 2>&1 &&
		$okvm img convert -O raw "$1" okvm.raw >> log 2>&1 &&
		cmp okvm.raw qemu.raw >> log 2>&1
}

# a 12 MiB source with data, holes and zeroes in odd places
head -c 12M /dev/zero > src.raw
for spec in "0 100000" "70000 3" "1048575 70000" "5000000 2000000" \
	    "8388608 65536" "12000000 582912"; do
	set -- $spec
	head -c "$2" /dev/urandom | dd of=src.raw bs=64k iflag=fullblock seek="$1" oflag=seek_bytes conv=notrunc status=none
done

# qemu-io patterns: data, zeroes, discards, overwrites, across clusters
qemu_writes() {
	qemu-io -f qcow2 -c "write -P 0x11 0 300k" -c "write -P 0x22 1000k 7k" \
		-c "write -z 100k 64k" -c "write -P 0x33 4095k 1M" \
		-c "discard 4096k 64k" -c "write -P 0x44 11M 1M" "$1" >> log 2>&1
}

# 1. qemu-img's images through okvm
# cluster sizes from 512 B to 2 MiB, refcount widths 1 to 64 bits
for spec in 512:1 512:64 4k:16 64k:1 64k:16 64k:64 1M:4 2M:16 2M:64; do
	cs=${spec%:*} rb=${spec#*:}
	{
		name="qemu_c${cs}_r${rb}"
		rm -f q.qcow2
		qemu-img create -q -f qcow2 -o cluster_size=$cs,refcount_bits=$rb q.qcow2 12M >> log 2>&1 &&
			qemu_writes q.qcow2 && same_as_qemu q.qcow2 &&
			$okvm img check q.qcow2 >> log 2>&1
		result $? "$name reads identical, okvm check clean"
	}
done

rm -f v2.qcow2
qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 12M >> log 2>&1 &&
	qemu_writes v2.qcow2 && same_as_qemu v2.qcow2 &&
	$okvm img check v2.qcow2 >> log 2>&1
result $? "qemu_compat_0.10 reads identical"

rm -f c.qcow2
qemu-img convert -c -O qcow2 src.raw c.qcow2 >> log 2>&1 && same_as_qemu c.qcow2 &&
	$okvm img check c.qcow2 >> log 2>&1
result $? "qemu_compressed reads identical"

rm -f c4k.qcow2
qemu-img convert -c -O qcow2 -o cluster_size=4k src.raw c4k.qcow2 >> log 2>&1 &&
	same_as_qemu c4k.qcow2
result $? "qemu_compressed_4k reads identical"

# chains: raw <- qcow2 <- qcow2 <- qcow2, each layer written by qemu-io
rm -f l*.qcow2
cp src.raw base.raw
qemu-img create -q -f qcow2 -b base.raw -F raw l1.qcow2 >> log 2>&1 &&
	qemu-io -f qcow2 -c "write -P 0x61 3000 70000" l1.qcow2 >> log 2>&1 &&
	qemu-img create -q -f qcow2 -o cluster_size=4k -b l1.qcow2 -F qcow2 l2.qcow2 >> log 2>&1 &&
	qemu-io -f qcow2 -c "write -P 0x62 1M 5000" -c "write -z 5M 1M" l2.qcow2 >> log 2>&1 &&
	qemu-img create -q -f qcow2 -b l2.qcow2 l3.qcow2 -F qcow2 >> log 2>&1 &&
	qemu-io -f qcow2 -c "write -P 0x63 0 512" l3.qcow2 >> log 2>&1 &&
	same_as_qemu l3.qcow2
result $? "qemu_backing_chain reads identical"

# a chain whose backing file is smaller than the overlay
rm -f small.raw big.qcow2
head -c 1M /dev/urandom > small.raw
qemu-img create -q -f qcow2 -b small.raw -F raw big.qcow2 4M >> log 2>&1 &&
	same_as_qemu big.qcow2
result $? "qemu_short_backing reads identical"

# a backing file that shrank under its overlay (qemu-img resize --shrink):
# past its new end it reads as zeroes, in okvm as in qemu-img
qemu-img create -q -f qcow2 sh-base.qcow2 4M
qemu-io -f qcow2 -c "write -P 0x61 0 4M" sh-base.qcow2 >> log 2>&1
qemu-img create -q -f qcow2 -b sh-base.qcow2 -F qcow2 sh.qcow2
qemu-io -f qcow2 -c "write -P 0x62 1M 64k" sh.qcow2 >> log 2>&1
qemu-img resize -q --shrink sh-base.qcow2 1536k >> log 2>&1 &&
	same_as_qemu sh.qcow2
result $? "qemu_backing_shrunk reads identical (zeroes past the backing file's end)"

# internal snapshots: the active state reads right, refcounts check out
rm -f s.qcow2
qemu-img create -q -f qcow2 s.qcow2 12M >> log 2>&1 && qemu_writes s.qcow2 &&
	qemu-img snapshot -c first s.qcow2 >> log 2>&1 &&
	qemu-io -f qcow2 -c "write -P 0x77 64k 200k" s.qcow2 >> log 2>&1 &&
	qemu-img snapshot -c second s.qcow2 >> log 2>&1 &&
	qemu-io -f qcow2 -c "write -P 0x78 0 4k" s.qcow2 >> log 2>&1 &&
	same_as_qemu s.qcow2 && $okvm img check s.qcow2 >> log 2>&1 &&
	$okvm img info s.qcow2 2>>log | grep -q '^1 *first' &&
	$okvm img info --output=json s.qcow2 2>>log | grep -q '"name": "second"'
result $? "qemu_snapshots read identical, listed, check clean"

# qemu-img create, tried up to three times: when it times LUKS's PBKDF2,
# qemu-img sometimes fails with "Unable to get accurate CPU usage" on a
# loaded machine (seen in a make check; a retry creates the image).
qemu_img_create_retry()
{
	qemu-img create "$@" >> log 2>&1 || qemu-img create "$@" >> log 2>&1 ||
		qemu-img create "$@" >> log 2>&1
}

# LUKS-encrypted (encrypt.format=luks) images read through okvm
printf 'pass phrase' > key.txt
for cs in 4k 64k; do
	rm -f luks.qcow2 qemu.raw okvm.raw
	obj="--object secret,id=s0,file=key.txt"
	# shellcheck disable=SC2086
	qemu_img_create_retry -q -f qcow2 $obj -o encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10,cluster_size=$cs luks.qcow2 12M &&
		qemu-img convert -n $obj --target-image-opts -f raw src.raw driver=qcow2,file.filename=luks.qcow2,encrypt.key-secret=s0 >> log 2>&1 &&
		qemu-img convert $obj --image-opts driver=qcow2,file.filename=luks.qcow2,encrypt.key-secret=s0 -O raw qemu.raw >> log 2>&1 &&
		$okvm img convert --key-file key.txt -O raw luks.qcow2 okvm.raw >> log 2>&1 &&
		cmp src.raw okvm.raw >> log 2>&1 && cmp qemu.raw okvm.raw >> log 2>&1 &&
		$okvm img info --output=json luks.qcow2 2>>log | grep -q '"encrypted": true'
	result $? "qemu_luks_c$cs reads identical with --key-file"
done

# LUKS images okvm makes (create, convert): qemu-img opens, writes and
# reads them with the same passphrase
obj="--object secret,id=s0,file=key.txt"
rm -f ol.qcow2 okvm.raw qemu.raw
$okvm img create --key-file key.txt -f qcow2 -o encrypt.format=luks,encrypt.iter-time=10,cluster_size=4k ol.qcow2 12M >> log 2>&1 &&
	qemu-img check $obj --image-opts driver=qcow2,file.filename=ol.qcow2,encrypt.key-secret=s0 >> log 2>&1 &&
	qemu-io $obj --image-opts driver=qcow2,file.filename=ol.qcow2,encrypt.key-secret=s0 \
		-c "write -P 0x21 1000 70000" -c "write -z 1M 64k" >> log 2>&1 &&
	qemu-img convert $obj --image-opts driver=qcow2,file.filename=ol.qcow2,encrypt.key-secret=s0 -O raw qemu.raw >> log 2>&1 &&
	$okvm img convert --key-file key.txt -O raw ol.qcow2 okvm.raw >> log 2>&1 &&
	cmp qemu.raw okvm.raw >> log 2>&1
result $? "okvm_create_luks: qemu-img checks, writes and reads it"
rm -f ol.qcow2 qemu.raw
$okvm img convert --key-file key.txt -O qcow2 -o encrypt.format=luks,encrypt.iter-time=10 src.raw ol.qcow2 >> log 2>&1 &&
	qemu-img check $obj --image-opts driver=qcow2,file.filename=ol.qcow2,encrypt.key-secret=s0 >> log 2>&1 &&
	qemu-img convert $obj --image-opts driver=qcow2,file.filename=ol.qcow2,encrypt.key-secret=s0 -O raw qemu.raw >> log 2>&1 &&
	cmp src.raw qemu.raw >> log 2>&1
result $? "okvm_convert_luks: qemu-img reads it identical"

# 2. okvm's images through qemu-img
for spec in 512:1 512:16 512:64 4k:8 4k:32 64k:2 64k:16 64k:64 2M:16; do
	cs=${spec%:*} rb=${spec#*:}
	{
		rm -f o.qcow2 o.raw
		$okvm img convert -O qcow2 -o cluster_size=$cs,refcount_bits=$rb src.raw o.qcow2 >> log 2>&1 &&
			qemu-img check o.qcow2 >> log 2>&1 &&
			qemu-img convert -O raw o.qcow2 o.raw >> log 2>&1 && cmp src.raw o.raw >> log 2>&1
		result $? "okvm_convert_c${cs}_r${rb} passes qemu-img check, reads identical"
	}
done

rm -f oc.qcow2 o.raw
$okvm img convert -c -O qcow2 src.raw oc.qcow2 >> log 2>&1 &&
	qemu-img check oc.qcow2 >> log 2>&1 &&
	qemu-img convert -O raw oc.qcow2 o.raw >> log 2>&1 && cmp src.raw o.raw >> log 2>&1 &&
	[ "$(stat -c %s oc.qcow2)" -lt "$(du -b --apparent-size src.raw | cut -f1)" ]
result $? "okvm_convert_compressed passes qemu-img check, reads identical"

rm -f o.raw
$okvm img convert -O raw c.qcow2 o.raw >> log 2>&1 && cmp src.raw o.raw >> log 2>&1
result $? "okvm_convert_to_raw of a compressed image"

rm -f oc.qcow2 o.raw
$okvm img create -f qcow2 oc.qcow2 1G >> log 2>&1 &&
	qemu-img check oc.qcow2 >> log 2>&1 &&
	$okvm img create -f qcow2 -o compat=0.10 ov2.qcow2 100M >> log 2>&1 &&
	qemu-img check ov2.qcow2 >> log 2>&1 &&
	qemu-img info ov2.qcow2 2>>log | grep -q 'compat: 0.10'
result $? "okvm_create v3 and v2 pass qemu-img check"

rm -f ob.qcow2
$okvm img create -f qcow2 -b l2.qcow2 -F qcow2 ob.qcow2 >> log 2>&1 &&
	qemu-img check ob.qcow2 >> log 2>&1 &&
	[ "$(qemu-img info --output=json ob.qcow2 | grep -c '"backing-filename": "l2.qcow2"')" = 1 ] &&
	same_as_qemu ob.qcow2
result $? "okvm_create overlay: qemu-img sees the backing file and format"

rm -f or.qcow2
qemu-img create -q -f qcow2 -o cluster_size=512 or.qcow2 1M >> log 2>&1 &&
	qemu-io -f qcow2 -c "write -P 0x5 0 1M" or.qcow2 >> log 2>&1 &&
	$okvm img resize or.qcow2 +300M >> log 2>&1 &&
	qemu-img check or.qcow2 >> log 2>&1 &&
	[ "$(qemu-img info --output=json or.qcow2 | grep '"virtual-size"')" = '    "virtual-size": 315621376,' ] &&
	same_as_qemu or.qcow2
result $? "okvm_resize grows the L1 table; qemu-img agrees"

rm -f rr.raw
$okvm img create -f raw rr.raw 1M >> log 2>&1 && $okvm img resize rr.raw 2M >> log 2>&1 &&
	[ "$(stat -c %s rr.raw)" = 2097152 ]
result $? "okvm_resize raw"

# snapshots made by okvm: qemu-img lists them, checks clean, applies them
rm -f os.qcow2 a.raw b.raw
qemu-img create -q -f qcow2 os.qcow2 12M >> log 2>&1 && qemu_writes os.qcow2 &&
	qemu-img convert -O raw os.qcow2 a.raw >> log 2>&1 &&
	$okvm img snapshot -c before os.qcow2 >> log 2>&1 &&
	qemu-io -f qcow2 -c "write -P 0x99 0 2M" os.qcow2 >> log 2>&1 &&
	qemu-img check os.qcow2 >> log 2>&1 &&
	[ "$($okvm img snapshot -l os.qcow2 2>>log)" = "$(qemu-img snapshot -l os.qcow2 2>>log)" ] &&
	qemu-img snapshot -a before os.qcow2 >> log 2>&1 &&
	qemu-img convert -O raw os.qcow2 b.raw >> log 2>&1 && cmp a.raw b.raw >> log 2>&1
result $? "okvm_snapshot_create: qemu-img lists and applies it"
qemu-io -f qcow2 -c "write -P 0x98 1M 2M" os.qcow2 >> log 2>&1 &&
	$okvm img snapshot -a before os.qcow2 >> log 2>&1 && qemu-img check os.qcow2 >> log 2>&1 &&
	same_as_qemu os.qcow2 && qemu-img convert -O raw os.qcow2 b.raw >> log 2>&1 && cmp a.raw b.raw >> log 2>&1 &&
	$okvm img snapshot -d before os.qcow2 >> log 2>&1 && qemu-img check os.qcow2 >> log 2>&1 &&
	[ -z "$(qemu-img snapshot -l os.qcow2)" ]
result $? "okvm_snapshot_apply_delete: qemu-img check clean, data back"
$okvm img snapshot -a nosuch os.qcow2 >> log 2>&1; [ $? = 1 ]
result $? "okvm_snapshot_apply of a missing snapshot exits 1"

# commit: the overlay's data and zero clusters into the backing file
rm -f cb.qcow2 co.qcow2 want.raw got.raw
qemu-img convert -O qcow2 src.raw cb.qcow2 >> log 2>&1 &&
	qemu-img create -q -f qcow2 -b cb.qcow2 -F qcow2 co.qcow2 >> log 2>&1 &&
	qemu-io -f qcow2 -c "write -P 9 100k 300k" -c "write -z 5M 128k" -c "write -P 7 12287k 1k" co.qcow2 >> log 2>&1 &&
	qemu-img convert -O raw co.qcow2 want.raw >> log 2>&1 &&
	$okvm img commit co.qcow2 >> log 2>&1 &&
	qemu-img check cb.qcow2 >> log 2>&1 && qemu-img check co.qcow2 >> log 2>&1 &&
	qemu-img convert -O raw cb.qcow2 got.raw >> log 2>&1 && cmp want.raw got.raw >> log 2>&1 &&
	qemu-img convert -O raw co.qcow2 got.raw >> log 2>&1 && cmp want.raw got.raw >> log 2>&1
result $? "okvm_commit: backing file gets the data, overlay emptied, qemu-img agrees"

# rebase (safe): onto another backing file, then none; the disk unchanged
rm -f nb.qcow2
qemu-img create -q -f qcow2 nb.qcow2 12M >> log 2>&1 &&
	qemu-io -f qcow2 -c "write -P 4 0 64k" co.qcow2 >> log 2>&1 &&
	qemu-img convert -O raw co.qcow2 want.raw >> log 2>&1 &&
	$okvm img rebase -b nb.qcow2 -F qcow2 co.qcow2 >> log 2>&1 &&
	qemu-img info co.qcow2 2>>log | grep -q '^backing file: nb.qcow2$' &&
	qemu-img check co.qcow2 >> log 2>&1 &&
	qemu-img convert -O raw co.qcow2 got.raw >> log 2>&1 && cmp want.raw got.raw >> log 2>&1 &&
	$okvm img rebase -b "" co.qcow2 >> log 2>&1 &&
	! qemu-img info co.qcow2 2>>log | grep -q '^backing file' &&
	qemu-img convert -O raw co.qcow2 got.raw >> log 2>&1 && cmp want.raw got.raw >> log 2>&1
result $? "okvm_rebase keeps the disk's contents; qemu-img agrees"
$okvm img rebase -u -b cb.qcow2 -F qcow2 co.qcow2 >> log 2>&1 &&
	qemu-img info co.qcow2 2>>log | grep -q '^backing file: cb.qcow2$' && qemu-img check co.qcow2 >> log 2>&1
result $? "okvm_rebase -u only renames the backing file"

# boot.sh's chain (the launcher tiers boot it): an overlay over a LUKS
# layer over a compressed image, all made by okvm img; qemu-img checks
# each layer and reads the chain, given the passphrase for the LUKS one
seq 1 800000 | head -c 4M > ch-a.raw
cp ch-a.raw ch-b.raw
head -c 300k /dev/urandom | dd of=ch-b.raw conv=notrunc status=none
printf 'chain key\n' > ch.key
sec="--object secret,id=s,file=ch.key"
{
	$okvm img convert -c -O qcow2 ch-a.raw ch-a.qcow2 &&
	$okvm img convert -O qcow2 ch-b.raw ch-b.qcow2 &&
	$okvm img create -q -f qcow2 -o encrypt.format=luks,encrypt.iter-time=10 \
		--key-file ch.key -b ch-b.qcow2 -F qcow2 ch-enc.qcow2 &&
	$okvm img rebase --key-file ch.key -b ch-a.qcow2 -F qcow2 ch-enc.qcow2 &&
	$okvm img create -q -f qcow2 --key-file ch.key -b ch-enc.qcow2 -F qcow2 ch-ov.qcow2 &&
	qemu-img check ch-a.qcow2 | grep -q "100.00% compressed" &&
	qemu-img check $sec --image-opts driver=qcow2,file.filename=ch-enc.qcow2,encrypt.key-secret=s &&
	qemu-img check $sec --image-opts driver=qcow2,file.filename=ch-ov.qcow2,backing.encrypt.key-secret=s &&
	qemu-img convert $sec --image-opts driver=qcow2,file.filename=ch-ov.qcow2,backing.encrypt.key-secret=s \
		-O raw ch-q.raw &&
	cmp ch-q.raw ch-b.raw
} >> log 2>&1
result $? "okvm_luks_chain: overlay over LUKS over compressed; qemu-img checks each and reads the chain"

# 3. info --output=json: qemu-img's field names and values
for img in q.qcow2 v2.qcow2 l3.qcow2 src.raw; do
	python3 - "$okvm" "$img" >> log 2>&1 <<'PY'
import json, subprocess, sys
okvm, img = sys.argv[1], sys.argv[2]
a = json.loads(subprocess.check_output([okvm, "img", "info", "--output=json", img]))
b = json.loads(subprocess.check_output(["qemu-img", "info", "--output=json", img]))
for k in set(a) | set(b):
    if k != "actual-size" and a.get(k) != b.get(k):
        sys.exit("%s: %r (okvm) != %r (qemu-img)" % (k, a.get(k), b.get(k)))
PY
	result $? "info_json_matches_qemu $img"
done

python3 - "$okvm" >> log 2>&1 <<'PY'
import json, subprocess, sys
a = json.loads(subprocess.check_output([sys.argv[1], "img", "info", "--output=json", "--backing-chain", "l3.qcow2"]))
b = json.loads(subprocess.check_output(["qemu-img", "info", "--output=json", "--backing-chain", "l3.qcow2"]))
assert [x["filename"] for x in a] == [x["filename"] for x in b], (a, b)
assert [x["format"] for x in a] == [x["format"] for x in b]
PY
result $? "info_backing_chain lists the chain as qemu-img does"

# 4. check: exit codes and repairs as qemu-img's
# a leak: an L2 entry dropped, its data cluster still counted
rm -f k.qcow2
qemu-img create -q -f qcow2 k.qcow2 4M >> log 2>&1 &&
	qemu-io -f qcow2 -c "write -P 1 0 128k" k.qcow2 >> log 2>&1
l1=$(python3 -c 'import struct;f=open("k.qcow2","rb");f.seek(40);print(struct.unpack(">Q",f.read(8))[0])')
l2=$(python3 -c "import struct;f=open('k.qcow2','rb');f.seek($l1);print(struct.unpack('>Q',f.read(8))[0] & 0xfffffffffe00)")
python3 -c "f=open('k.qcow2','r+b');f.seek($l2);f.write(bytes(8))"
cp k.qcow2 k2.qcow2
$okvm img check k.qcow2 >> log 2>&1; a=$?
qemu-img check k2.qcow2 >> log 2>&1; b=$?
[ $a = 3 ] && [ $b = 3 ]
result $? "check_leak exits 3 like qemu-img"
$okvm img check -r leaks k.qcow2 >> log 2>&1 && qemu-img check k.qcow2 >> log 2>&1
result $? "check_-r_leaks repairs; qemu-img agrees"

# corruption: the refcount of a used data cluster set to 0
rm -f k.qcow2
qemu-img create -q -f qcow2 k.qcow2 4M >> log 2>&1 &&
	qemu-io -f qcow2 -c "write -P 1 0 128k" k.qcow2 >> log 2>&1
rt=$(python3 -c 'import struct;f=open("k.qcow2","rb");f.seek(48);print(struct.unpack(">Q",f.read(8))[0])')
rb=$(python3 -c "import struct;f=open('k.qcow2','rb');f.seek($rt);print(struct.unpack('>Q',f.read(8))[0])")
# cluster 4 is the first data cluster (header, table, block, L1, then L2 = 4?)
python3 -c "f=open('k.qcow2','r+b');f.seek($rb + 2*5);f.write(bytes(2))"
cp k.qcow2 k2.qcow2
$okvm img check k.qcow2 >> log 2>&1; a=$?
qemu-img check k2.qcow2 >> log 2>&1; b=$?
[ $a = 2 ] && [ $b = 2 ]
result $? "check_corruption exits 2 like qemu-img"
$okvm img check -r all k.qcow2 >> log 2>&1 && qemu-img check k.qcow2 >> log 2>&1
result $? "check_-r_all repairs; qemu-img agrees"

$okvm img check src.raw >> log 2>&1; a=$?
[ $a = 63 ]
result $? "check_raw exits 63 like qemu-img"

echo "1..$n"
exit $fail
