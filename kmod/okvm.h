/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * okvm.h - the objects every part of okvm.ko shares.
 *
 * The object tree follows KVM's: the system device (/dev/okvm) creates VMs,
 * each VM is an anonymous-inode file whose release frees it.
 */
#ifndef OKVM_H
#define OKVM_H

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/kvm.h>
#include <linux/mm_types.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/printk.h>
#include <linux/rcupdate.h>
#include <linux/signal.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>

#include "x86/emulate.h"

struct okvm_lapic;
struct okvm_pic;
struct okvm_ioapic;
struct okvm_pit;
struct okvm_irq_routing;
struct okvm_eventfds;

/*
 * Memory slots a VM may have (KVM_CAP_NR_MEMSLOTS). KVM allows 32764; okvm
 * copies the whole slot array on each change, so it keeps the count that
 * KVM had for years, which is plenty for any VMM.
 */
#define OKVM_USER_MEM_SLOTS	509

/*
 * Address spaces (KVM_CAP_MULTI_ADDRESS_SPACE, bits 31:16 of a slot
 * number): 0 is guest memory as the guest sees it normally, 1 as it sees
 * it in system-management mode, SMRAM included (x86/smm.c), as in KVM.
 */
#define OKVM_ADDRESS_SPACES	2

/*
 * vCPU limits (KVM_CAP_MAX_VCPUS, KVM_CAP_MAX_VCPU_ID): an xAPIC names at
 * most 255 CPUs, and x2APIC arrives later.
 */
#define OKVM_MAX_VCPUS		64
#define OKVM_MAX_VCPU_ID	256

/*
 * struct okvm_memslot - guest-physical pages [base_gfn, base_gfn + npages)
 * are the VM process's memory at userspace_addr. Immutable once published.
 *
 * @flags holds the KVM_MEM_* flags of the ioctl and, in the snapshot that a
 * deletion or move publishes while it zaps the slot's old GFNs,
 * OKVM_MEMSLOT_INVALID (memslot.c, okvm_set_user_memory_region()). Readers
 * treat an invalid slot as "wait or retry": the MMU notifier still zaps its
 * host range, the fault path installs nothing and lets the guest fault
 * again, and the emulator waits for the update (okvm_gpa_to_hva()).
 */
#define OKVM_MEMSLOT_INVALID	BIT(16)

/*
 * @dirty_bitmap: with KVM_MEM_LOG_DIRTY_PAGES, one bit per page of the
 * slot (little-endian bit order, as user space reads it), followed by a
 * second bitmap of the same size that KVM_GET/CLEAR_DIRTY_LOG use as a
 * buffer (dirty_log.c); NULL without the flag. Every snapshot holding the
 * slot shares it; it is freed once no published snapshot does.
 */
struct okvm_memslot {
	u64 base_gfn;
	u64 npages;
	u64 userspace_addr;
	unsigned long *dirty_bitmap;
	u32 flags;
	u16 id;
	u16 as_id;		/* the address space it belongs to */
};

/*
 * struct okvm_memslots - all slots of a VM, sorted by base_gfn: a snapshot
 * published with RCU and never modified afterwards (memslot.c).
 */
struct okvm_memslots {
	unsigned int nr;
	struct okvm_memslot slots[];
};

/*
 * struct okvm_mmu - a VM's second-level (nested / extended) page tables,
 * which map guest-physical to host-physical addresses (mmu.c).
 *
 * @root[] are the top tables of the two address spaces (a vCPU uses the
 * one okvm_vcpu_as_id() names), shared by every vCPU of the VM. @lock guards the
 * tables and the notifier counters. A fault that read @invalidate_seq
 * before looking up the slot and the host page may install the page only
 * if no invalidation started since (@invalidate_seq unchanged) and none is
 * running (@invalidate_count == 0): that is how the MMU notifier, slot
 * updates and the fault path agree without the fault holding a page
 * reference (design.rst, "Guest memory"). An invalidation keeps
 * @invalidate_count raised from before its first zap to after its last, so
 * it may drop @lock to reschedule in between (okvm_mmu_zap()).
 *
 * @kick_mask is the set of CPUs one kick interrupts (okvm_mmu_kick_vcpus()),
 * built and used under @kick_lock, which is never held with @lock.
 */
struct okvm_mmu {
	spinlock_t lock;		/* guards the tables and counters */
	u64 *root[OKVM_ADDRESS_SPACES];
	unsigned long invalidate_seq;
	unsigned int invalidate_count;
	unsigned long nr_tables;	/* table pages, for accounting */
	struct mmu_notifier notifier;
	/*
	 * Bumped (under @lock) whenever an entry is removed or narrowed; a
	 * vCPU that saw an older value flushes its TLB before the next entry.
	 */
	atomic64_t tlb_gen;
	spinlock_t kick_lock;		/* guards kick_mask */
	cpumask_var_t kick_mask;
};

/*
 * Counters KVM_GET_STATS_FD shows (stats.c), with KVM's names and
 * meanings. Each is written by one party only (the vCPU's thread; the
 * VM's under mmu.kick_lock) with plain increments and read without a
 * lock, as KVM's are.
 */
struct okvm_vm_stats {
	u64 remote_tlb_flush;	/* invalidations that kicked the vCPUs (mmu.c) */
};

struct okvm_vcpu_stats {
	u64 exits;		/* every exit from the guest (x86/run.c) */
	u64 io_exits;		/* port I/O exits (x86/io.c) */
	u64 mmio_exits;		/* MMIO exits to user space (x86/io.c) */
	u64 signal_exits;	/* KVM_RUN ended by a signal (x86/run.c) */
	u64 halt_exits;		/* HLT executed (x86/exit_common.c) */
	u64 pf_fixed;		/* second-level faults mapped (mmu.c) */
};

/*
 * struct okvm_vm - one virtual machine.
 *
 * Lifetime: created by KVM_CREATE_VM. Its file and each vCPU file hold a
 * reference (@refs); the last one gone frees the VM and its vCPUs, so
 * closing every fd returns every byte, and a vCPU never outlives its VM.
 *
 * Locking: @id, @mm and @creator never change after creation and need no
 * lock. @lock guards @vcpus, @nr_vcpus, @tss_addr and @identity_map_addr;
 * @nr_vcpus only grows, so readers may walk vcpus[0 .. READ_ONCE(nr_vcpus))
 * without it. @memslots[] (one snapshot per address space) are replaced
 * under @slots_lock and read under RCU.
 *
 * Lock order: vcpu->mutex, then @slots_lock (the emulator waits for a slot
 * update with the vCPU's mutex held), then mmu.lock or mmu.kick_lock, which
 * are never held together. A slot update never waits for a vCPU's mutex.
 */
struct okvm_vm {
	struct kref refs;
	unsigned int id;	/* small number naming the VM in dmesg */
	struct mm_struct *mm;	/* the creator's mm: only it may issue ioctls */
	pid_t creator;		/* tgid of the creator, for dmesg */

	struct mutex lock;	/* guards vcpus[] and nr_vcpus */
	struct okvm_vcpu *vcpus[OKVM_MAX_VCPUS];	/* in creation order */
	unsigned int nr_vcpus;
	u64 tss_addr;			/* KVM_SET_TSS_ADDR, kept for KVM's errnos */
	bool identity_map_addr_set;	/* KVM_SET_IDENTITY_MAP_ADDR was called */
	/*
	 * KVM_CAP_MAX_VCPU_ID as enabled (vm.c): 0 until KVM_ENABLE_CAP or
	 * the first KVM_CREATE_VCPU fixes it, under @lock, as in KVM.
	 */
	u32 max_vcpu_ids;
	/*
	 * KVM_SET_BOOT_CPU_ID: the id of the vCPU that comes out of RESET as
	 * the BSP (okvm_vcpu_is_reset_bsp()); 0 by default, changed under
	 * @lock only while no vCPU exists, so read without it afterwards.
	 */
	u32 bsp_vcpu_id;

	struct mutex slots_lock;	/* serializes memslot changes */
	struct okvm_memslots __rcu *memslots[OKVM_ADDRESS_SPACES];
	/* KVM_SET/GET_NR_MMU_PAGES (mmu_pages.c); written under slots_lock */
	unsigned long nr_mmu_pages;
	bool mmu_pages_requested;
	/*
	 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2's KVM_DIRTY_LOG_* flags, set by
	 * KVM_ENABLE_CAP under @slots_lock, read under it (dirty_log.c).
	 */
	u64 dirty_log_manual;
	/*
	 * KVM_CAP_MSR_PLATFORM_INFO enabled with 0: the guest's RDMSR of
	 * MSR_PLATFORM_INFO raises #GP (msr.c). Any time, no lock, as KVM.
	 */
	bool platform_info_hidden;

	struct okvm_mmu mmu;
	struct okvm_vm_stats stat;	/* stats.c */
	bool failed_entry_dumped;	/* one VMCB/VMCS dump per VM */
	/*
	 * kvmclock = CLOCK_BOOTTIME + @kvmclock_offset (x86/clock.c);
	 * written under @lock by KVM_SET_CLOCK, read with READ_ONCE().
	 */
	s64 kvmclock_offset;
	/*
	 * MSR_KVM_WALL_CLOCK(_NEW) as last written by any vCPU, for reads
	 * back (x86/clock.c); WRITE_ONCE()/READ_ONCE(), as in KVM no lock.
	 */
	u64 wall_clock_msr;

	/*
	 * The in-kernel interrupt controllers (x86/irq.h). KVM_CREATE_IRQCHIP
	 * sets @irqchip_in_kernel under @lock before any vCPU exists, and it
	 * is never cleared, so a vCPU reads it without a lock. Each chip
	 * keeps its own lock inside its struct.
	 */
	bool irqchip_in_kernel;
	/*
	 * KVM_CAP_X2APIC_API's flags (vm.c): 32-bit x2APIC IDs in
	 * struct kvm_lapic_state and MSI address_hi, and no xAPIC broadcast
	 * quirk for x2APIC targets. Set any time, as in KVM; read with
	 * READ_ONCE().
	 */
	bool x2apic_format;
	bool x2apic_broadcast_quirk_disabled;
	/*
	 * KVM_CAP_X86_USER_SPACE_MSR's KVM_MSR_EXIT_REASON_* mask and the
	 * KVM_X86_SET_MSR_FILTER filter (x86/msr_filter.c): the filter is
	 * replaced under @lock and read under RCU; @msr_intercept_all says
	 * it denies something, so the vendors intercept every MSR.
	 */
	u32 user_space_msr_mask;
	/* KVM_CAP_DISABLE_QUIRKS2: KVM_X86_QUIRK_* turned off (hypercall.c) */
	u64 disabled_quirks;
	struct okvm_msr_filter __rcu *msr_filter;
	bool msr_intercept_all;
	struct okvm_pic *pic;
	struct okvm_ioapic *ioapic;
	struct okvm_pit *pit;

	/*
	 * GSI routing (x86/routing.c): the table is read under RCU and
	 * replaced under @irq_lock. The ack notifiers are walked under RCU
	 * and changed under @irq_ack_lock.
	 */
	struct okvm_irq_routing __rcu *irq_routing;
	struct mutex irq_lock;		/* serializes table updates */
	spinlock_t irq_ack_lock;	/* guards irq_ack_notifiers */
	struct hlist_head irq_ack_notifiers;
	/* ioeventfds, irqfds and the coalesced ring (eventfd.c); own locks */
	struct okvm_eventfds *eventfds;
};

/* General registers, in the order of the ModRM encoding and struct kvm_regs. */
enum okvm_gpr {
	OKVM_RAX, OKVM_RCX, OKVM_RDX, OKVM_RBX,
	OKVM_RSP, OKVM_RBP, OKVM_RSI, OKVM_RDI,
	OKVM_R8, OKVM_R9, OKVM_R10, OKVM_R11,
	OKVM_R12, OKVM_R13, OKVM_R14, OKVM_R15,
	OKVM_NR_GPRS
};

/* An exception okvm raises in the guest at the next entry (x86/run.c). */
struct okvm_exception {
	bool pending;
	bool has_error_code;
	u8 vector;
	u32 error_code;
};

/*
 * What a vCPU waits for from user space after an exit: the data of an IN or
 * an MMIO read, finished by the next KVM_RUN (x86/io.c).
 */
enum okvm_pending_io {
	OKVM_IO_NONE,
	OKVM_IO_PIO,		/* port I/O: finish the IN/OUT/INS/OUTS */
	OKVM_IO_MMIO,		/* MMIO: finish the decoded string insn */
	OKVM_IO_MMIO_OP,	/* MMIO: the next piece of a MOV-type access */
};

/*
 * struct okvm_vcpu - one virtual CPU, run by whichever thread calls KVM_RUN.
 *
 * Lifetime: created by KVM_CREATE_VCPU and freed with its VM (like KVM's),
 * so the VM can walk its vCPUs without references. The vendor allocates it
 * inside its own larger struct (okvm_x86_ops.vcpu_size).
 *
 * @run is page 0 of the vCPU fd's mmap (struct kvm_run), @pio_data page
 * KVM_PIO_PAGE_OFFSET; both are shared with user space for the vCPU's life.
 *
 * Locking: @mutex is held by every vCPU ioctl (so KVM_RUN and the register
 * ioctls never overlap, as in KVM) and guards everything below it except
 * @mode and @cpu, which other CPUs read to decide whether to kick the vCPU
 * out of guest mode (mmu.c).
 *
 * Register ownership: @regs, @rip and @rflags are the truth whenever the
 * vCPU is not inside the vendor's run hook; the vendor copies them into its
 * VMCB/VMCS before entry and back after exit. Everything else (control
 * registers, segments, most MSRs) lives in the VMCB/VMCS and is reached
 * through okvm_x86_ops.
 */
/* The guest's machine-check registers (x86/mce.c); under vcpu->mutex. */
#define OKVM_MAX_MCE_BANKS	32	/* KVM_MAX_MCE_BANKS */
struct okvm_mce {
	u64 mcg_cap, mcg_status, mcg_ctl;
	u64 banks[4 * OKVM_MAX_MCE_BANKS];	/* CTL, STATUS, ADDR, MISC */
};

/* The guest's MTRRs (x86/mtrr.c); the vCPU thread's alone. */
#define OKVM_NR_VAR_MTRR	8
struct okvm_mtrr {
	u64 def_type;
	u64 fixed[11];
	struct {
		u64 base, mask;
	} var[OKVM_NR_VAR_MTRR];
};

struct okvm_vcpu {
	struct okvm_vm *vm;
	unsigned int id;
	struct kvm_run *run;
	void *pio_data;

	struct mutex mutex;	/* held by every vCPU ioctl */
	bool has_run;		/* KVM_RUN entered once: CPUID is fixed */
	int mode;		/* OKVM_OUTSIDE_GUEST / OKVM_IN_GUEST */
	int cpu;		/* host CPU it last entered on, -1 before */

	unsigned long regs[OKVM_NR_GPRS];
	unsigned long rip;
	unsigned long rflags;
	u64 xcr0;
	u32 pkru;		/* the guest's PKRU (run.c) */
	bool pkru_live;		/* the guest could change PKRU this entry */
	struct fpu_guest fpu;
	s64 tlb_gen;		/* okvm_mmu.tlb_gen at the last flush */
	void *spare_tables[3];	/* for the fault path (mmu.c) */
	unsigned int nr_spare_tables;

	struct okvm_exception exception;
	/*
	 * An external interrupt the VMM injected (KVM_INTERRUPT, or SET_SREGS'
	 * interrupt_bitmap): delivered at the next entry, as KVM does, whether
	 * or not the guest can take it; the VMM asks first with
	 * ready_for_interrupt_injection.
	 */
	struct {
		bool injected;
		u8 vector;
	} interrupt;
	/*
	 * NMIs: one waiting for delivery (KVM_SET_VCPU_EVENTS), and whether
	 * the guest blocks them, from an NMI's delivery to the IRET that ends
	 * its handler (SDM Vol. 3 6.7.1). The vendor tracks the IRET.
	 */
	bool nmi_pending;
	bool nmi_masked;
	/*
	 * System-management mode (x86/smm.c): SMIs posted by any CPU
	 * (@smi_requests, bit 0, set_bit()), one taken and waiting for
	 * delivery, whether the vCPU is in SMM and entered it with NMIs
	 * already blocked, and its SMBASE. All but @smi_requests under
	 * @mutex.
	 */
	unsigned long smi_requests;
	bool smi_pending;
	bool in_smm;
	bool smm_inside_nmi;
	u64 smbase;
	u8 sipi_vector;
	enum okvm_pending_io pending_io;
	struct okvm_pio {		/* the port access being completed */
		u8 size;
		bool in;
		bool string;
		u32 count;		/* elements in the pio page */
		unsigned long rip;	/* of the instruction */
		unsigned long next_rip;
		struct okvm_insn insn;	/* for INS: where the data goes */
		u64 dst;		/* INS: ES:rDI's linear address */
	} pio;
	struct okvm_insn mmio_insn;	/* the MMIO read being completed */
	struct okvm_mmio_op {		/* a MOV-type access split in pieces */
		u64 linear;		/* guest-linear address of byte 0 */
		u8 data[16];		/* the bytes, as in memory */
		u8 len;			/* bytes the instruction moves */
		u8 done;		/* bytes already read or written */
		u8 chunk;		/* bytes of the exit in progress */
		bool write;
	} mmio_op;
	/*
	 * The last MMIO exit whose instruction did not access its GPA, and
	 * how many times in a row the guest was re-entered to retry it
	 * (x86/io.c).
	 */
	unsigned int emul_retries;
	unsigned long emul_retry_rip;
	u64 emul_retry_gpa;
	bool tlb_flush;			/* set by the run loop for the vendor */

	struct okvm_lapic *lapic;	/* with an in-kernel irqchip (lapic.c) */

	struct kvm_cpuid_entry2 *cpuid;	/* KVM_SET_CPUID2; NULL: all zeros */
	unsigned int cpuid_nent;
	bool cpuid_set;		/* a KVM_SET_CPUID(2) succeeded (regs.c, CR4) */
	u64 guest_xcr0_mask;		/* XCR0 bits the guest CPUID allows */

	u64 apic_base;
	/*
	 * CR8 as the VMM sees it, and the hardware TPR when last compared
	 * (regs.c, okvm_sync_cr8()).
	 */
	unsigned long cr8;
	unsigned long seen_tpr;
	u64 misc_enable;
	u64 hwcr;
	u64 power_ctl;		/* MSR_IA32_POWER_CTL, only kept */
	/* KVM_CAP_ENFORCE_PV_FEATURE_CPUID (x86/hypercall.c) */
	bool pv_enforce;
	/*
	 * A KVM_EXIT_X86_RDMSR/WRMSR the VMM answers before the next
	 * KVM_RUN completes the instruction (x86/msr.c).
	 */
	struct {
		bool pending;
		bool rdmsr;
		u8 len;
	} msr_user;
	struct okvm_mtrr mtrr;		/* x86/mtrr.c */
	struct okvm_mce mce;		/* x86/mce.c */
	/* KVM_X86_SET_MCE hit a vCPU that cannot take #MC: exit SHUTDOWN */
	bool shutdown_pending;
	s64 tsc_adjust;			/* IA32_TSC_ADJUST (msr.c) */
	u64 platform_info;		/* MSR_PLATFORM_INFO (msr.c) */
	u64 tsc_aux;			/* IA32_TSC_AUX (msr.c, svm/tsc_aux.c) */
	unsigned long dr[4];		/* DR0-3, loaded when DR7 arms them (run.c) */
	/*
	 * KVM_SET_GUEST_DEBUG (x86/guest_debug.c): @control holds the
	 * KVM_GUESTDBG_* flags in force, 0 when debugging is off; @dr and
	 * @dr7 the debugger's DR0-3 and DR7, which the hardware uses
	 * instead of the guest's under KVM_GUESTDBG_USE_HW_BP;
	 * @singlestep_rip the linear RIP where KVM_GUESTDBG_SINGLESTEP was
	 * set (RFLAGS written while the vCPU is there gets TF, KVM's rule);
	 * @step_exit: okvm completed an instruction while single-stepping
	 * for the debugger, and KVM_RUN returns KVM_EXIT_DEBUG for it.
	 */
	struct okvm_guest_debug {
		u32 control;
		unsigned long dr[4];
		unsigned long dr7;
		unsigned long singlestep_rip;
		bool step_exit;
	} guest_debug;
	/*
	 * kvmclock (x86/clock.c): MSR_KVM_SYSTEM_TIME(_NEW) as written, the
	 * host CPU of the last fill of its page, and a KVM_KVMCLOCK_CTRL
	 * waiting for the next fill, under @mutex. @kvmclock_requests is
	 * set with set_bit() from other threads too (KVM_SET_CLOCK) and
	 * tested and cleared by the run loop.
	 */
	u64 kvmclock_msr;
	int kvmclock_cpu;
	bool kvmclock_stop_request;
	unsigned long kvmclock_requests;

	sigset_t sigset;
	bool sigset_active;
	struct okvm_vcpu_stats stat;	/* stats.c */
};

#define OKVM_OUTSIDE_GUEST	0
#define OKVM_IN_GUEST		1

/* The address space the vCPU sees now: 1 in SMM (x86/smm.c), else 0. */
static inline int okvm_vcpu_as_id(const struct okvm_vcpu *vcpu)
{
	return vcpu->in_smm ? 1 : 0;
}

/* One rate-limited dmesg line naming the VM, for bad guest or ioctl input. */
#define okvm_vm_warn(vm, fmt, ...)					\
	do {								\
		const struct okvm_vm *__vm = (vm);			\
									\
		pr_warn_ratelimited("vm%u (pid %d): " fmt, __vm->id,	\
				    __vm->creator, ##__VA_ARGS__);	\
	} while (0)

/* memslot.c */
int okvm_set_user_memory_region(struct okvm_vm *vm,
				const struct kvm_userspace_memory_region *mem);
int okvm_memslots_init(struct okvm_vm *vm);
void okvm_memslots_free(struct okvm_vm *vm);
const struct okvm_memslot *okvm_memslot_find(const struct okvm_memslots *slots,
					     u64 gfn);
int __okvm_gpa_to_hva(struct okvm_vm *vm, int as_id, u64 gpa,
		      unsigned long *hva, u32 *flags);
int okvm_gpa_to_hva_prot(struct okvm_vm *vm, int as_id, u64 gpa, bool write,
			 unsigned long *hva);
const struct okvm_memslot *okvm_memslot_by_id(const struct okvm_memslots *slots,
					      u16 id);
int okvm_hva_read_lock(void);
void okvm_hva_read_unlock(int idx);

/* mmu.c */
int okvm_mmu_init(struct okvm_vm *vm);
int okvm_mmu_watch_mm(struct okvm_vm *vm);
void okvm_mmu_vcpu_free(struct okvm_vcpu *vcpu);
void okvm_mmu_destroy(struct okvm_vm *vm);
int okvm_mmu_page_fault(struct okvm_vcpu *vcpu, u64 gpa, bool write);
void okvm_mmu_zap_gfn_range(struct okvm_vm *vm, int as_id, u64 start,
			    u64 end);
bool okvm_mmu_need_tlb_flush(struct okvm_vcpu *vcpu);
u64 okvm_mmu_root_pa(struct okvm_vcpu *vcpu);
void okvm_mmu_lock(struct okvm_vm *vm);
void okvm_mmu_unlock_flush(struct okvm_vm *vm, bool flush);
bool okvm_mmu_wrprot_mask(struct okvm_vm *vm, int as_id, u64 gfn,
			  unsigned long mask);
void okvm_mmu_wrprot_range(struct okvm_vm *vm, int as_id, u64 start, u64 end);

/* dirty_log.c */
int okvm_dirty_log_prepare(struct okvm_vm *vm, const struct okvm_memslot *old,
			   struct okvm_memslot *new);
void okvm_dirty_log_commit(struct okvm_vm *vm, const struct okvm_memslot *old,
			   const struct okvm_memslot *new);
void okvm_dirty_log_free(const struct okvm_memslot *slot,
			 const struct okvm_memslot *keep);
bool okvm_dirty_log_fault(struct okvm_vm *vm, int as_id, u64 gfn, bool write);
void okvm_mark_page_dirty(struct okvm_vm *vm, int as_id, u64 gpa);
long okvm_vm_ioctl_dirty_log(struct okvm_vm *vm, unsigned int ioctl,
			     void __user *argp);
int okvm_vm_enable_cap_dirty_log(struct okvm_vm *vm,
				 const struct kvm_enable_cap *cap);
long okvm_dirty_log_manual_caps(void);

/* mmu_pages.c */
void okvm_mmu_pages_slots_changed(struct okvm_vm *vm);
long okvm_vm_ioctl_mmu_pages(struct okvm_vm *vm, unsigned int ioctl,
			     unsigned long arg);

/* vcpu.c */
/*
 * The vCPU KVM_SET_BOOT_CPU_ID named: its APIC base has the BSP flag at
 * RESET (SDM Vol. 3 10.4.4), and it runs without waiting for INIT-SIPI.
 */
static inline bool okvm_vcpu_is_reset_bsp(const struct okvm_vcpu *vcpu)
{
	return vcpu->id == vcpu->vm->bsp_vcpu_id;
}

int okvm_create_vcpu(struct okvm_vm *vm, unsigned long id);
void okvm_vcpu_free(struct okvm_vcpu *vcpu);

/* vm.c */
int okvm_create_vm(unsigned long type);
void okvm_vm_put(struct okvm_vm *vm);
int okvm_vm_init(void);
void okvm_vm_exit(void);

/* hardware.c */
int okvm_hardware_get(void);
void okvm_hardware_put(void);
int okvm_hardware_init(void);
void okvm_hardware_exit(void);

/* caps.c */
#define OKVM_X2APIC_API_FLAGS	(KVM_X2APIC_API_USE_32BIT_IDS | \
				 KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK)
/* The KVM quirks okvm has, each of which KVM_CAP_DISABLE_QUIRKS2 turns off. */
#define OKVM_QUIRKS		(KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT | \
				 KVM_X86_QUIRK_FIX_HYPERCALL_INSN | \
				 KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS)
#define OKVM_MSR_EXIT_REASONS	(KVM_MSR_EXIT_REASON_INVAL | \
				 KVM_MSR_EXIT_REASON_UNKNOWN | \
				 KVM_MSR_EXIT_REASON_FILTER)
/* KVM_SET_GUEST_DEBUG's flags okvm acts on (x86/guest_debug.c). */
#define OKVM_GUESTDBG_VALID	(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP | \
				 KVM_GUESTDBG_USE_SW_BP | \
				 KVM_GUESTDBG_USE_HW_BP | \
				 KVM_GUESTDBG_INJECT_DB | \
				 KVM_GUESTDBG_INJECT_BP | KVM_GUESTDBG_BLOCKIRQ)
long okvm_check_extension(struct okvm_vm *vm, long cap);

/* stats.c */
int okvm_vm_get_stats_fd(struct okvm_vm *vm);
int okvm_vcpu_get_stats_fd(struct okvm_vcpu *vcpu);

/* eventfd.c */
int okvm_eventfd_init(struct okvm_vm *vm);
void okvm_eventfd_free(struct okvm_vm *vm);
long okvm_vm_ioctl_eventfd(struct okvm_vm *vm, unsigned int ioctl,
			   void __user *argp);
bool okvm_eventfd_write(struct okvm_vm *vm, bool pio, u64 addr,
			unsigned int len, const void *data);
struct page *okvm_coalesced_ring_page(struct okvm_vm *vm);
int okvm_eventfd_module_init(void);
void okvm_eventfd_module_exit(void);

#endif /* OKVM_H */
