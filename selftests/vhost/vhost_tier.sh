#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# vhost_tier.sh okvm|kernel - the vhost selftests in one test VM boot
# (scripts/vmtest --no-load; scripts/check's vhost-okvm and vhost-kernel
# tiers). The in-tree modules they need come uncompressed in
# /payload/mods/*/ with their load order in each directory's "order"
# (scripts/check's intree_kvm); okvm's in /payload/okvm-vhost.ko.
#
#   okvm    load tun, loop and null_blk, insmod okvm-vhost.ko, run vhost_net_test on
#           /dev/okvm-vhost-net and vhost_blk_test, close everything,
#           rmmod okvm-vhost (it must go: no device left open by a leaked
#           reference), no tap interface left behind, no splat in dmesg
#   kernel  load in-tree vhost_net and run vhost_net_test on /dev/vhost-net,
#           the same expectations; the same tap and dmesg checks
#
# Prints run-tests' summary line and one of its own for the checks.
mode=${1:?usage: vhost_tier.sh okvm|kernel}
cd "$(dirname "$0")/.." || exit 1
SPLAT='BUG:|WARNING:|Oops|general protection fault|kernel BUG|KASAN|UBSAN|soft lockup|hard LOCKUP|rcu.*(stall|self-detected)|blocked for more than|Slab cache still has objects|unreferenced object'

for dir in /payload/mods/*/; do
	[ -f "$dir/order" ] || continue
	while read -r m; do
		# null_blk: memory-backed, each request completed 50 ms
		# later from a timer interrupt (vhost_blk_test's inflight)
		args=
		[ "$m" = null_blk ] &&
			args="nr_devices=1 memory_backed=1 gb=1 irqmode=2 completion_nsec=50000000"
		# shellcheck disable=SC2086 # the module's parameters, split
		[ -d "/sys/module/$m" ] || insmod "$dir/$m.ko" $args ||
			{ echo "vhost_tier: insmod $m failed"; exit 1; }
	done < "$dir/order"
done
dmesg -c > /dev/null
case $mode in
okvm)
	insmod /payload/okvm-vhost.ko || { echo "vhost_tier: insmod okvm-vhost.ko failed"; exit 1; }
	export VHOST_NET_DEV=/dev/okvm-vhost-net
	OKVM_HV=okvm-vhost OKVM_DEV=$VHOST_NET_DEV ./run-tests vhost/vhost_net_test vhost/vhost_blk_test
	;;
kernel)
	export VHOST_NET_DEV=/dev/vhost-net
	OKVM_HV=kernel-vhost OKVM_DEV=$VHOST_NET_DEV ./run-tests vhost/vhost_net_test
	;;
*)
	echo "vhost_tier: mode okvm or kernel" >&2
	exit 2
	;;
esac
rc=$?

n=0 pass=0 fail=0
result() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n $2"
		pass=$((pass + 1))
	else
		echo "not ok $n $2"
		fail=$((fail + 1))
	fi
}

# A tap stays while any file holds it: one left means a leaked reference.
sleep 1
left=
for i in /sys/class/net/vht*; do
	[ -e "$i" ] && left="$left ${i##*/}"
done
[ -z "$left" ]
result $? "no_tap_left${left:+ # left: $left}"
if [ "$mode" = okvm ]; then
	rmmod okvm_vhost
	result $? "rmmod_okvm_vhost"
fi
dmesg > /tmp/vhost_tier.dmesg
if grep -E "$SPLAT" /tmp/vhost_tier.dmesg; then
	result 1 "no_kernel_splat"
else
	result 0 "no_kernel_splat"
fi
echo "run-tests: vhost-checks: $pass passed, $fail failed, 0 skipped"
[ "$rc" = 0 ] && [ "$fail" = 0 ]
