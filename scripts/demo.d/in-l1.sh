#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# in-l1.sh - the part of `make demo` that runs inside the L1 test VM
# (scripts/demo), in /payload with okvm run, Debian's kernel (vmlinuz),
# the demo guest (guest.cpio) and L1's tun and bridge modules (l1mods/).
#
# Two boots of the same unmodified kernel, each to its power-off:
#   1. -c 2: SMP, the guest reports its kernel, CPUs, memory and date;
#   2. -c 1 with a raw virtio-blk disk, virtio-rng and virtio-net on a
#      tap in a bridge of L1's (10.0.2.1/24): the guest reads a file from
#      the disk and pings L1.
# The devices boot with one vCPU: Debian's virtio drivers are modules,
# and loading modules in a 2-vCPU guest in the nested TCG bed hangs or
# panics it at times, on in-tree KVM as on okvm (launcher.rst).
#
# Exit status: 0 when both boots ended cleanly and the guest saw its
# devices; 3 when okvm run found no in-kernel irqchip (scripts/demo then
# boots the guest on in-tree KVM); else the failing step's status.

# run NAME ARGS...: okvm run with the console and its own lines in NAME
run()
{
	out=$1
	shift
	./okvm run -k vmlinuz -i guest.cpio -m 256M --boot-timer "$@" \
		< /dev/null > "$out" 2>&1
	rc=$?
	cat "$out"
	if grep -q "no in-kernel irqchip" "$out"; then
		exit 3
	fi
	return $rc
}

echo "demo: boot 1 of 2: okvm run -c 2"
run smp.txt -c 2 -p "quiet okvm.action=poweroff" || exit $?

# a raw disk: a tar archive with the file the guest prints
echo "hello from the demo's raw disk" > hello.txt
tar -cf disk.raw hello.txt
truncate -s 2M disk.raw

while read -r m; do
	insmod "l1mods/$m.ko" 2> /dev/null
done < l1mods/load
ip link add okbr0 type bridge &&
	ip addr add 10.0.2.1/24 dev okbr0 &&
	ip link set okbr0 up || { echo "demo: no bridge in L1" >&2; exit 1; }

echo
echo "demo: boot 2 of 2: okvm run -c 1 -d disk.raw --rng -n tap,bridge=okbr0"
run dev.txt -c 1 -d disk.raw --rng -n tap,bridge=okbr0 \
	-p "quiet okvm.action=poweroff okvm.net=ping" || exit $?
grep -q "okvm-guest: vda: hello from the demo's raw disk" dev.txt ||
	{ echo "demo: the guest did not read its disk" >&2; exit 1; }
grep -q "okvm-guest: net: ping 10.0.2.1 ok" dev.txt ||
	{ echo "demo: the guest did not reach L1 over the tap" >&2; exit 1; }
grep -q "okvm-guest: rng virtio_rng" dev.txt ||
	{ echo "demo: the guest has no virtio-rng" >&2; exit 1; }
echo "demo: the guest read its disk, used virtio-rng and pinged L1 over the tap"
