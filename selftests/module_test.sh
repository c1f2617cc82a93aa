#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# module_test.sh - loading, unloading and refusing okvm.ko, in TAP.
#
# Runs in a test VM where no hypervisor module is loaded yet (scripts/vmtest
# --no-load). $OKVM_KO is okvm.ko; $OKVM_INTREE holds kvm-amd.ko or
# kvm-intel.ko and their dependencies from the running kernel, uncompressed,
# with their load order in the file "order". $OKVM_VENDOR (svm or vmx, from
# scripts/vmtest) says which extension the test bed's CPU has. These are
# okvm's own tests: in-tree KVM has no equivalent to compare with.
#
# Run with --cpu qemu64,-svm it checks only the refusal on a CPU without SVM;
# with --cpu EPYC,+svm,-npt the refusal without nested paging.
cd "$(dirname "$0")" || exit 1
ko=${OKVM_KO:-/payload/okvm.ko}
intree=${OKVM_INTREE:-/payload/intree}
n=0 failed=0

# What okvm's messages and the in-tree module are called on this vendor.
if [ "${OKVM_VENDOR:-svm}" = vmx ]; then
	ext=VMX flag=CR4.VMXE kvm_vendor=kvm_intel
else
	ext=SVM flag=EFER.SVME kvm_vendor=kvm_amd
fi
vendor=$(echo "$ext" | tr 'A-Z' 'a-z')

# rounds N: N, divided by $OKVM_TEST_SCALE on a slow bed, at least 1
rounds() {
	r=$(($1 / ${OKVM_TEST_SCALE:-1}))
	[ $r -gt 0 ] || r=1
	echo $r
}

result() {	# result STATUS NAME
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		failed=$((failed + 1))
	fi
}

# kernel memory that a leak would grow, in KiB (see lib/okvm_util.c)
kernel_memory_kb() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
	awk '/^(Slab|VmallocUsed|Percpu|KernelStack|PageTables):/ { s += $2 }
	     END { print s }' /proc/meminfo
}

# insmod_fails ERRNO_TEXT DMESG_TEXT [PARAMS] - insmod must fail with that
# errno and print exactly one matching line in dmesg
insmod_fails() {
	want_err=$1 want_msg=$2
	shift 2
	dmesg -c > /dev/null
	out=$(./load_module "$ko" "$@" 2>&1) && { echo "# okvm.ko loaded"; rmmod okvm; return 1; }
	echo "# $out"
	dmesg | sed 's/^/# dmesg: /'
	echo "$out" | grep -q "$want_err" &&
		[ "$(dmesg | grep -c "okvm: .*$want_msg")" = 1 ]
}

wait_for() {	# wait_for FILE: up to 20 s
	i=0
	while [ ! -e "$1" ] && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e "$1" ]
}

hold_vm_start() {	# hold_vm_start DEVICE: sets $holder
	rm -f /tmp/vm-ready
	./hold_vm "$1" /tmp/vm-ready &
	holder=$!
	wait_for /tmp/vm-ready
}

hold_vm_stop() {
	kill "$holder"
	wait "$holder" 2> /dev/null
}

load_intree_kvm() {	# in dependency order; the parameters go to kvm.ko
	for m in $(cat "$intree/order"); do
		if [ "$m" = kvm ]; then
			insmod "$intree/$m.ko" "$@"
		else
			insmod "$intree/$m.ko"
		fi || return 1
	done
}

unload_intree_kvm() {
	for m in $(cat "$intree/order" | tac); do
		rmmod "$m" || return 1
	done
}

if ! grep -qw "$vendor" /proc/cpuinfo; then
	insmod_fails "No such device" "neither AMD SVM .* nor Intel VMX"
	result $? "refused_without_svm_or_vmx"
	echo "1..$n"
	exit $((failed != 0))
fi
if [ "$vendor" = svm ] && ! grep -qw npt /proc/cpuinfo; then
	insmod_fails "Operation not supported" "SVM without nested paging"
	result $? "refused_without_npt"
	echo "1..$n"
	exit $((failed != 0))
fi

dmesg -c > /dev/null
insmod "$ko" && [ -c /dev/okvm ] && dmesg | grep -q "okvm: ready on $vendor: /dev/okvm"
result $? "load_creates_dev_okvm"

# One line names the speculation mitigations the entry path applies, from
# a known set (design.rst, "Speculative execution"); an L1D flush only
# where the kernel reports the CPU affected by L1TF.
spec=$(dmesg | grep "okvm: $vendor speculation mitigations:")
echo "# $spec"
[ "$(printf '%s\n' "$spec" | grep -c .)" = 1 ] &&
	! printf '%s\n' "${spec#*mitigations:}" | tr ' ' '\n' | grep . |
	grep -vxE 'none|rsb-fill|rsb-fill-lite|ibpb-on-vcpu-switch|verw|l1d-flush-msr|l1d-flush-sw|ibrs-after-exit|untrain-ret|ibpb-after-exit|bhb-clear|ibpb-before-user' &&
	{ ! grep -q '^Not affected' /sys/devices/system/cpu/vulnerabilities/l1tf 2>/dev/null ||
	  ! printf '%s\n' "$spec" | grep -q l1d-flush; }
result $? "load_names_speculation_mitigations"

# misc major 10, dynamic minor; the kernel's node is 0660, udev adds the group
[ "$(stat -c '%t %a %u' /dev/okvm)" = "a 660 0" ]
result $? "dev_okvm_is_misc_0660_root"

exec 3< /dev/okvm
! rmmod okvm 2> /dev/null && [ -c /dev/okvm ]
result $? "rmmod_refused_while_device_open"
exec 3<&-

hold_vm_start /dev/okvm
r=$?
exec 3<&-
[ $r = 0 ] && ! rmmod okvm 2> /dev/null
result $? "rmmod_refused_while_vm_open"
hold_vm_stop

rmmod okvm && [ ! -e /dev/okvm ] && [ ! -e /sys/module/okvm ]
result $? "rmmod_removes_everything"

# Load, use and unload many times: kernel memory must come back.
insmod "$ko" && ./api_test > /dev/null 2>&1 && rmmod okvm
before=$(kernel_memory_kb)
n_reload=$(rounds 30)
i=0 r=0
while [ $i -lt $n_reload ] && [ $r = 0 ]; do
	insmod "$ko" && ./api_test > /dev/null 2>&1 && rmmod okvm || r=1
	i=$((i + 1))
done
after=$(kernel_memory_kb)
echo "# kernel memory: $before KiB before, $after KiB after $n_reload load/use/unload rounds"
[ $r = 0 ] && [ $((after - before)) -lt 512 ]
result $? "reload_and_use_without_leak"

# The same with guests that ran: VMCBs or VMCSs, second-level tables, the
# MMU notifier and the guest FPU state all go with the last fd, and rmmod
# leaves kernel memory where it was. A VMCS still active on some CPU when
# its vCPU is freed would be written back into freed memory later: okvm
# warns, which the check below catches.
# (Their verdicts are the abi tiers' business; here only memory counts.)
run_guests() {
	for t in guest_ucall_test guest_mmio_test memory_test concurrency_test; do
		./x86/$t > /dev/null 2>&1
	done
	return 0
}
dmesg -c > /dev/null
insmod "$ko" && run_guests && rmmod okvm
before=$(kernel_memory_kb)
n_guests=$(rounds 5)
i=0 r=0
while [ $i -lt $n_guests ] && [ $r = 0 ]; do
	insmod "$ko" && run_guests && rmmod okvm || r=1
	i=$((i + 1))
done
after=$(kernel_memory_kb)
echo "# kernel memory: $before KiB before, $after KiB after $n_guests rounds of guests"
[ $r = 0 ] && [ $((after - before)) -lt 1024 ]
result $? "reload_after_guests_without_leak"
dmesg | grep -E 'WARNING|BUG|Oops|okvm: .*(still active|VMXOFF)' | sed 's/^/# dmesg: /'
! dmesg | grep -qE 'WARNING|BUG|Oops'
result $? "guests_and_reloads_leave_no_kernel_warning"

# devname=kvm: /dev/kvm on KVM's own minor, and the ABI tests pass there
insmod "$ko" devname=kvm &&
	[ "$(stat -c '%t:%T' /dev/kvm)" = "a:e8" ] &&
	OKVM_DEV=/dev/kvm ./api_test > /tmp/api.log 2>&1
r=$?
sed 's/^/# /' /tmp/api.log
rmmod okvm && [ ! -e /dev/kvm ] && [ $r = 0 ]
result $? "devname_kvm_takes_minor_232"

insmod_fails "Invalid argument" "devname=bogus: must be okvm or kvm" devname=bogus
result $? "devname_bogus_refused"

# In-tree KVM holds minor 232: devname=kvm must refuse, loudly. Since Linux
# 6.12 kvm turns SVM/VMX on at load unless told not to; older kvm ignores
# the unknown parameter.
if load_intree_kvm enable_virt_at_load=0; then
	insmod_fails "Device or resource busy" "misc minor 232 (/dev/kvm) is taken" devname=kvm
	result $? "devname_kvm_refused_when_kvm_has_it"

	# With a KVM VM alive, the extension is on and okvm must say who.
	hold_vm_start /dev/kvm
	insmod_fails "Device or resource busy" "$ext is already in use on CPU [0-9]* ($flag set): $kvm_vendor is loaded"
	result $? "refused_while_${kvm_vendor}_uses_$vendor"
	hold_vm_stop

	# KVM turned it off with its last VM: both modules can be loaded.
	insmod "$ko" && [ -c /dev/okvm ] && [ -c /dev/kvm ]
	result $? "coexists_with_idle_$kvm_vendor"

	# They take turns: the extension belongs to whichever has a VM.
	hold_vm_start /dev/okvm &&
		! ./hold_vm /dev/kvm /tmp/kvm-ready 2> /dev/null
	result $? "${kvm_vendor}_refused_while_okvm_has_a_vm"
	hold_vm_stop

	dmesg -c > /dev/null
	hold_vm_start /dev/kvm
	out=$(./hold_vm /dev/okvm /tmp/okvm-ready 2>&1)
	r=$?
	echo "# $out"
	dmesg | sed 's/^/# dmesg: /'
	[ $r != 0 ] && echo "$out" | grep -q "Device or resource busy" &&
		dmesg | grep -q "okvm: $ext was turned on for CPU [0-9]* by another hypervisor"
	result $? "okvm_vm_refused_while_${kvm_vendor}_has_a_vm"
	hold_vm_stop

	hold_vm_start /dev/okvm
	result $? "okvm_vm_after_${kvm_vendor}_let_go"
	hold_vm_stop
	rmmod okvm
	unload_intree_kvm
else
	result 1 "load_intree_kvm"
fi

# Leave okvm loaded with a VM open: the VM's poweroff then runs okvm's
# reboot notifier with SVM/VMX on, and scripts/vmtest fails the tier if that
# hangs or oopses.
insmod "$ko" && hold_vm_start /dev/okvm
result $? "vm_left_open_for_poweroff"

echo "1..$n"
exit $((failed != 0))
