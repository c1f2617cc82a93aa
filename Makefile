# SPDX-License-Identifier: GPL-2.0-only
#
# okvm: the one entry point.
#
#   make            build okvm.ko for KDIR, the selftests and the launcher
#                   (build/user/okvm)
#   make check      install what is missing, build against every Debian
#                   kernel series, run checkpatch and the test tiers in the
#                   nested test VMs (Documentation/testing.rst)
#   make demo       boot Debian's kernel under okvm run inside a test VM
#                   (on /dev/okvm once it has the in-kernel irqchip, on
#                   in-tree kvm-amd until then, and says which)
#   make fuzz       the ioctl and guest fuzzer for FUZZ_SECONDS (default 600)
#                   on okvm and on in-tree kvm-amd, one test VM boot each;
#                   FUZZ_ARGS="--seed 1 --threads 8" passes options on
#   make bench      exit costs on okvm next to in-tree kvm-amd, in one test
#                   VM boot (not part of check: a benchmark has no verdict);
#                   BENCH_ARGS="--kernel 6.12 --rounds 3" passes options on;
#                   then make bench-vhost
#   make bench-vhost  a guest's disk and TCP throughput on okvm's vhost-blk
#                   and vhost-net next to okvm run's user-space devices and
#                   in-tree vhost_net, in one test VM boot, with ratios
#                   (VHOST_BENCH="ROUNDS SECONDS", default "1 5")
#   make kvm-selftests  KVM's own 6.1 selftests (selftests/kvm-6.1/) on
#                   in-tree kvm-amd and on okvm in one test VM boot, with
#                   the verdict of the kvm-selftests tier;
#                   KVM_SELFTESTS="x86_64/cpuid_test" picks tests,
#                   KVM_SELFTESTS_HV=vmx runs on the Bochs bed,
#                   KVM_SELFTESTS_ARGS="--kernel 6.12" passes vmtest options
#   make bench-launcher  okvm run's boot-to-init time on okvm next to
#                   in-tree kvm-amd, its memory beyond guest RAM and its
#                   size (BENCH_ROUNDS=3)
#   make soak-boot  boot a guest with okvm run again and again in one test
#                   VM until one stalls, with a state dump of it
#                   (SOAK_ARGS="--kvm 40 150": in-tree kvm-amd, boots, limit)
#   make clean      remove build/ (the linux-source cache in .cache/ stays)
#
# KDIR defaults to the running kernel's build tree when it exists, else the
# newest installed Debian 6.1 amd64 headers: the series scripts/vmtest boots
# by default, so `make` then `scripts/vmtest` test what was just built.
# `make KDIR=...` picks another (scripts/kbuild DIR does the same).

newest_headers = $(lastword $(shell ls -d /usr/src/linux-headers-$(1)*-amd64 2>/dev/null | sort -V))

KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
		    $(call newest_headers,6.1.) $(call newest_headers,))

all: modules selftests user

modules:
	@test -n "$(KDIR)" || { echo "no kernel headers: run scripts/deps" >&2; exit 1; }
	+scripts/kbuild $(KDIR)

# The selftests run inside the test VMs (scripts/check, scripts/vmtest).
selftests:
	$(MAKE) -C selftests KSFT_DIR=$$(scripts/linux-source)/tools/testing/selftests
	$(MAKE) -C selftests/x86 KSFT_DIR=$$(scripts/linux-source)/tools/testing/selftests
	$(MAKE) -C selftests/fuzz KSFT_DIR=$$(scripts/linux-source)/tools/testing/selftests
	$(MAKE) -C selftests/vhost KSFT_DIR=$$(scripts/linux-source)/tools/testing/selftests

# the okvm launcher (okvm run, okvm img): user space only, no kernel needed
user:
	$(MAKE) -C user

checkpatch:
	scripts/checkpatch

check:
	scripts/check

# scripts/bench builds okvm.ko for the kernel it boots and exit_bench itself.
bench:
	scripts/bench $(BENCH_ARGS); rc=$$?; $(MAKE) bench-vhost || rc=1; exit $$rc

# okvm-vhost.ko, the static launcher, the guest with its bench tools
bench-vhost: modules
	$(MAKE) -C selftests/launcher guest
	scripts/vhost-bench $(VHOST_BENCH)

# okvm run's boot time and memory beside in-tree KVM (issue 12, item 9)
bench-launcher: modules
	$(MAKE) -C selftests/launcher guest
	scripts/launcher-bench $(BENCH_ROUNDS)

# Boots until one stalls (Documentation/launcher.rst, "Known in the test bed")
soak-boot: modules
	$(MAKE) -C selftests/launcher guest
	scripts/boot-soak $(SOAK_ARGS)

# scripts/fuzz builds okvm.ko for the kernel it boots and the selftests.
FUZZ_SECONDS ?= 600
fuzz:
	scripts/fuzz --seconds $(FUZZ_SECONDS) $(FUZZ_ARGS)

# okvm.ko, the static launcher and the test guest, then scripts/demo
demo: modules
	$(MAKE) -C selftests/launcher guest
	scripts/demo

# okvm.ko for the default kernel, then KVM's selftests built from the
# linux-source tarball and run on both hypervisors in one boot.
KVM_SELFTESTS_HV ?= svm
kvm-selftests: modules
	selftests/kvm-6.1/build
	scripts/vmtest --both --okvm-args devname=kvm --smp 2 --timeout 900 \
		--hv $(KVM_SELFTESTS_HV) --add build/kvm-selftests-6.1/$(KVM_SELFTESTS_HV)=/payload/kvm $(KVM_SELFTESTS_ARGS) \
		-- kvm/run $(KVM_SELFTESTS)

clean:
	rm -rf build

.PHONY: all modules selftests user checkpatch check bench bench-vhost fuzz demo \
	kvm-selftests soak-boot clean
