#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# hostile.sh - a corpus of broken and malicious images, made at run time by
# patching fresh qemu-img images, each given to okvm img info and okvm img
# convert (which reads every table). Each must fail with exit status 1 and
# one line on stderr, "okvm img: FILE: problem", naming the file and the
# problem; never crash (the binary has ASan/UBSan), hang (a timeout) or
# write to the image (its checksum before and after). Prints TAP.
#
# OKVM: the okvm binary (default build/user-san/okvm).
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
okvm=${OKVM:-$top/build/user-san/okvm}
dir=$(mktemp -d /tmp/okvm-hostile.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
n=0
fail=0

# patch FILE OFFSET FORMAT VALUE: big-endian struct.pack into the file
patch() {
	python3 -c '
import struct, sys
f, off, fmt, val = sys.argv[1], int(sys.argv[2], 0), sys.argv[3], int(sys.argv[4], 0)
val &= (1 << (8 * struct.calcsize(">" + fmt))) - 1
with open(f, "r+b") as fh:
    fh.seek(off)
    fh.write(struct.pack(">" + fmt, val))' "$@"
}

# u64 at OFFSET of FILE
peek64() {
	python3 -c '
import struct, sys
with open(sys.argv[1], "rb") as fh:
    fh.seek(int(sys.argv[2], 0))
    print(struct.unpack(">Q", fh.read(8))[0])' "$@"
}

fresh() {
	rm -f "$1"
	qemu-img create -q -f qcow2 "${@:2}" "$1" 4M
}

# with data in the first clusters, so that L1 and L2 entries exist
fresh_data() {
	fresh "$@"
	qemu-io -f qcow2 -c "write -P 0x5a 0 192k" "$1" > /dev/null
}

# expect NAME WANT-IN-MESSAGE FILE [ARGS...]: each verb in $verbs fails
# well (check may also report corruption, exit 2, as qemu-img check does)
verbs="info|convert -O raw|check"
expect() {
	local name=$1 want=$2 file=$3 verb sum0 sum1 out lines rc ok=1 why=
	shift 3
	sum0=$(md5sum "$file" 2>/dev/null)
	local IFS='|'
	for verb in $verbs; do
		IFS=' 	
'

		out=$(setsid -w timeout 20 $okvm img $verb "$@" "$file" ${verb:+$([ "$verb" = "convert -O raw" ] && echo out.raw)} 2>&1 >/dev/null)
		rc=$?
		lines=$(printf '%s\n' "$out" | grep -c .)
		if [ "$verb" = check ] && [ $rc = 2 ]; then
			continue	# corruption found by the check: qemu-img's 2
		fi
		if [ $rc != 1 ]; then
			ok=0 why="$verb: exit $rc"
		elif [ "$lines" != 1 ]; then
			ok=0 why="$verb: $lines lines on stderr"
		elif ! printf '%s' "$out" | grep -q "^okvm img: .*$file.*: "; then
			ok=0 why="$verb: message does not name the file: $out"
		elif ! printf '%s' "$out" | grep -qi -- "$want"; then
			ok=0 why="$verb: message lacks '$want': $out"
		fi
		[ $ok = 1 ] || break
	done
	sum1=$(md5sum "$file" 2>/dev/null)
	if [ $ok = 1 ] && [ "$sum0" != "$sum1" ]; then
		ok=0 why="the image changed"
	fi
	n=$((n + 1))
	if [ $ok = 1 ]; then
		echo "ok $n $name"
	else
		echo "not ok $n $name # $why"
		printf '# %s\n' "$out"
		fail=1
	fi
}

# header fields (spec "Header"; offsets in the header)
fresh h.qcow2; patch h.qcow2 0 I 0x514649fc
expect bad_magic "not a qcow2 image" h.qcow2 -f qcow2
fresh h.qcow2; patch h.qcow2 4 I 4
expect version_4 "version" h.qcow2
fresh h.qcow2; patch h.qcow2 4 I 1
expect version_1 "version" h.qcow2
fresh h.qcow2; patch h.qcow2 20 I 8
expect cluster_bits_8 "cluster_bits" h.qcow2
fresh h.qcow2; patch h.qcow2 20 I 22
expect cluster_bits_22 "cluster_bits" h.qcow2
fresh h.qcow2; patch h.qcow2 20 I 0xffffffff
expect cluster_bits_huge "cluster_bits" h.qcow2
fresh h.qcow2; patch h.qcow2 24 Q 0x7fffffffffffffff
expect size_overflow "size" h.qcow2
fresh h.qcow2; patch h.qcow2 24 Q 0x100000000000
expect size_beyond_l1 "l1_size" h.qcow2
fresh h.qcow2; patch h.qcow2 36 I 0xffffffff
expect l1_size_huge "l1_size" h.qcow2
fresh h.qcow2; patch h.qcow2 40 Q 0x30001
expect l1_unaligned "L1 table" h.qcow2
fresh h.qcow2; patch h.qcow2 40 Q 0
expect l1_in_header "L1 table" h.qcow2
fresh h.qcow2; patch h.qcow2 40 Q 0x7ff0000000000
expect l1_past_end "L1 table" h.qcow2
fresh h.qcow2; patch h.qcow2 40 Q 0x10000
expect l1_overlaps_refcount_table "overlap" h.qcow2
fresh h.qcow2; patch h.qcow2 48 Q 0x4000000000
expect refcount_table_past_end "refcount table" h.qcow2
fresh h.qcow2; patch h.qcow2 48 Q 0
expect refcount_table_in_header "refcount table" h.qcow2
fresh h.qcow2; patch h.qcow2 56 I 0
expect refcount_table_empty "refcount_table_clusters" h.qcow2
fresh h.qcow2; patch h.qcow2 56 I 0x10000000
expect refcount_table_huge "refcount_table_clusters" h.qcow2
fresh h.qcow2; patch h.qcow2 60 I 0x7fffffff
expect nb_snapshots_huge "nb_snapshots" h.qcow2
fresh h.qcow2; patch h.qcow2 60 I 1; patch h.qcow2 64 Q 0x40000000
expect snapshot_table_past_end "snapshot table" h.qcow2
fresh h.qcow2; patch h.qcow2 60 I 1; patch h.qcow2 64 Q 0x30000
expect snapshot_table_overlaps_l1 "overlap" h.qcow2
fresh h.qcow2; patch h.qcow2 72 Q 0x100
expect unknown_incompatible_feature "incompatible" h.qcow2
fresh h.qcow2; patch h.qcow2 72 Q 4
expect external_data_file "external data file" h.qcow2
fresh h.qcow2; patch h.qcow2 96 I 7
expect refcount_order_7 "refcount_order" h.qcow2
fresh h.qcow2; patch h.qcow2 100 I 0x100001
expect header_length_huge "header_length" h.qcow2
fresh h.qcow2; patch h.qcow2 32 I 1
expect legacy_aes "AES" h.qcow2
fresh h.qcow2; patch h.qcow2 32 I 9
expect crypt_method_unknown "crypt_method" h.qcow2
# an extension whose length runs past the header cluster
fresh h.qcow2; patch h.qcow2 116 I 0x20000
expect extension_too_long "extension" h.qcow2
fresh h.qcow2; patch h.qcow2 8 Q 0xfff0; patch h.qcow2 16 I 0x100
expect backing_name_outside_header "backing file name" h.qcow2
head -c 50 /dev/zero > t.qcow2; patch t.qcow2 0 I 0x514649fb
expect truncated_header "too short" t.qcow2
: > e.qcow2
expect empty_as_qcow2 "too short" e.qcow2 -f qcow2
head -c 1M /dev/urandom > r.raw
expect raw_as_qcow2 "not a qcow2" r.raw -f qcow2
expect missing_file "No such file" nonexistent.qcow2

# tables reached through the L1 and L2 tables: info does not read them
# (nor does qemu-img info), convert reads them all
verbs="convert -O raw|check"
fresh_data d.qcow2
l1=$(peek64 d.qcow2 40)
l2=$(( $(peek64 d.qcow2 $l1) & 0x00fffffffffffe00 ))
cp d.qcow2 base-data.qcow2
patch d.qcow2 $l1 Q $(( (1 << 63) | 0x7f000000000 ))
expect l2_past_end "L2 table" d.qcow2
cp base-data.qcow2 d.qcow2; patch d.qcow2 $l1 Q $(( (1 << 63) | 0x10200 ))
expect l2_unaligned "L2 table" d.qcow2
cp base-data.qcow2 d.qcow2; patch d.qcow2 $l1 Q $(( (1 << 63) | 0x10000 ))
expect l2_on_refcount_table "refcount table" d.qcow2
cp base-data.qcow2 d.qcow2; patch d.qcow2 $l1 Q $(( (1 << 63) | (1 << 60) | l2 ))
expect l1_reserved_bits "reserved bits" d.qcow2
cp base-data.qcow2 d.qcow2; patch d.qcow2 $l2 Q $(( (1 << 63) | 0x7f0000000 ))
expect data_past_end "past the end" d.qcow2
cp base-data.qcow2 d.qcow2; patch d.qcow2 $l2 Q $(( (1 << 63) | 0x50200 ))
expect data_unaligned "unaligned" d.qcow2
cp base-data.qcow2 d.qcow2; patch d.qcow2 $l2 Q $(( (1 << 63) | 0x30000 ))
expect data_on_l1 "L1 table" d.qcow2
# compressed: bit 62, offset in the low 54 bits, sector count above
cp base-data.qcow2 d.qcow2; patch d.qcow2 $l2 Q $(( (1 << 62) | (0xff << 54) | 0x3ffff00000 ))
expect compressed_past_end "compressed" d.qcow2
# 0xff bytes are a deflate block of the reserved type 3
cp base-data.qcow2 d.qcow2
qemu-io -f qcow2 -c "write -P 0xff 192k 64k" d.qcow2 > /dev/null
patch d.qcow2 $l2 Q $(( (1 << 62) | (0x7f << 54) | 0x50000 ))
verbs="convert -O raw"
expect compressed_garbage "compressed" d.qcow2
verbs="convert -O raw|check"
# only check and writers read the refcounts
cp base-data.qcow2 d.qcow2
rt=$(peek64 d.qcow2 48); patch d.qcow2 $rt Q 0x7f00000000
verbs="check"
expect refcount_block_past_end "refcount block" d.qcow2 -f qcow2

# backing chains: an error wherever the chain is opened, info included
verbs="info|convert -O raw|check"
qemu-img create -q -f qcow2 -b self.qcow2 -F qcow2 -u other.qcow2 1M
mv other.qcow2 self.qcow2
expect backing_self_loop "loop" self.qcow2
qemu-img create -q -f qcow2 -b loop2.qcow2 -F qcow2 -u loop1.qcow2 1M
qemu-img create -q -f qcow2 -b loop1.qcow2 -F qcow2 -u loop2.qcow2 1M
expect backing_two_loop "loop" loop1.qcow2
qemu-img create -q -f qcow2 -b gone.qcow2 -F qcow2 -u orphan.qcow2 1M
expect backing_missing "orphan.qcow2: backing file .*gone.qcow2: No such file" orphan.qcow2
# a backing file changed under its overlay: replaced by a file that is not
# the format the overlay records; the message says whose backing file
qemu-img create -q -f qcow2 changed-base.qcow2 1M
qemu-img create -q -f qcow2 -b changed-base.qcow2 -F qcow2 changed.qcow2
head -c 1M /dev/urandom > changed-base.qcow2
expect backing_replaced "changed.qcow2: backing file changed-base.qcow2: not a qcow2 image" changed.qcow2
# ... or by a qcow2 image whose header is broken (a 1 TiB cluster size)
qemu-img create -q -f qcow2 changed-base.qcow2 1M
patch changed-base.qcow2 20 L 40
expect backing_broken "changed.qcow2: backing file changed-base.qcow2: .*cluster" changed.qcow2
qemu-img create -q -f qcow2 -b r.raw -F vmdk -u wrongfmt.qcow2 1M
expect backing_format_unknown "vmdk" wrongfmt.qcow2

# LUKS (encrypt.format=luks): the passphrase and the header inside the
# image; only convert unlocks (info and check read metadata only). setsid
# above: no terminal to prompt on, so no passphrase means none.
printf 'right' > right.key
printf 'wrong' > wrong.key
qemu-img create -q -f qcow2 --object secret,id=s0,file=right.key \
	-o encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10 l.qcow2 1M
cp l.qcow2 base-luks.qcow2
# the extension 0x0537be77: offset and length of the LUKS area
ext=$(python3 -c '
import struct
d = open("l.qcow2", "rb").read(65536)
i = d.find(bytes.fromhex("0537be77"))
print(i + 8)')
luks=$(peek64 l.qcow2 $ext)
verbs="convert -O raw"
expect luks_wrong_passphrase "wrong passphrase" l.qcow2 --key-file wrong.key
expect luks_no_passphrase "passphrase is needed" l.qcow2
patch l.qcow2 $luks I 0x4c554b00
expect luks_bad_magic "LUKS header" l.qcow2 --key-file right.key
cp base-luks.qcow2 l.qcow2; patch l.qcow2 $((ext + 8)) Q 100
expect luks_header_truncated "LUKS header" l.qcow2 --key-file right.key
cp base-luks.qcow2 l.qcow2; patch l.qcow2 $((ext + 8)) Q 4096
expect luks_key_material_truncated "key slot" l.qcow2 --key-file right.key
cp base-luks.qcow2 l.qcow2; patch l.qcow2 $((luks + 208 + 40)) I 0x7fffffff
expect luks_slot_past_area "key slot" l.qcow2 --key-file right.key
cp base-luks.qcow2 l.qcow2; patch l.qcow2 $((luks + 40)) Q 0x6362632d706c6169
expect luks_cipher_unsupported "not supported" l.qcow2 --key-file right.key
cp base-luks.qcow2 l.qcow2; patch l.qcow2 $ext Q 0x7f00000000
expect luks_area_past_end "LUKS header" l.qcow2 --key-file right.key

# the command line: bad sizes, formats, options and verbs; exit 1 (okvm
# run: 2) and one line saying what is wrong
cli() {	# NAME WANT-STATUS WANT-IN-MESSAGE ARGS...
	local name=$1 want=$2 msg=$3 out rc
	shift 3
	out=$(setsid -w timeout 20 $okvm "$@" 2>&1 >/dev/null)
	rc=$?
	n=$((n + 1))
	if [ $rc = "$want" ] && [ "$(printf '%s\n' "$out" | grep -c .)" = 1 ] &&
	   printf '%s' "$out" | grep -qi -- "$msg"; then
		echo "ok $n $name"
	else
		echo "not ok $n $name # exit $rc: $out"
		fail=1
	fi
}
cli create_size_overflow 1 "invalid size" img create -f qcow2 big.qcow2 99999999999999999999
cli create_size_too_large 1 "too large" img create -f qcow2 big.qcow2 4E
cli create_size_unaligned 1 "multiple of 512" img create -f qcow2 odd.qcow2 1000
cli create_unknown_format 1 "unknown format" img create -f vmdk x.vmdk 1M
cli create_bad_cluster_size 1 "cluster_size" img create -f qcow2 -o cluster_size=3000 c.qcow2 1M
cli create_bad_refcount_bits 1 "refcount_bits" img create -f qcow2 -o refcount_bits=128 c.qcow2 1M
cli create_unknown_option 1 "not supported" img create -f qcow2 -o lazy_refcounts=on c.qcow2 1M
cli create_missing_size 1 "missing size" img create -f qcow2 c.qcow2
cli create_missing_backing 1 "No such file" img create -f qcow2 -b nothere.qcow2 c.qcow2
cli create_raw_with_backing 1 "no backing" img create -f raw -b r.raw c.raw 1M
cli convert_compress_raw 1 "needs -O qcow2" img convert -c -O raw r.raw c.raw
cli convert_missing_source 1 "No such file" img convert -O raw nothere.raw c.raw
cli resize_shrink 1 "shrinking" img resize r.raw 4k
cli resize_negative 1 "shrinking" img resize r.raw -1M
cli snapshot_on_raw 1 "no internal snapshots" img snapshot -c s r.raw
cli commit_without_backing 1 "no backing file" img commit base-data.qcow2
cli check_bad_repair 1 "leaks or all" img check -r some base-data.qcow2
cli info_bad_output 1 "human or json" img info --output=xml base-data.qcow2
cli key_file_missing 1 "No such file" img info --key-file nokey base-data.qcow2
cli unknown_verb 1 "unknown command" img frobnicate
cli run_without_kernel 2 "give one with -k KERNEL" run

echo "1..$n"
exit $fail
