// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test architectural PerfMon v4's streamlined Freeze_PerfMon_On_PMI and
 * Freeze_LBRs_On_PMI: a counter overflow that requests a PMI sets CTR_Frz
 * and/or LBR_Frz in GLOBAL_STATUS, which stop the counters and the LBRs
 * without touching GLOBAL_CTRL and DEBUGCTL.LBR, until the guest clears the
 * bits via GLOBAL_STATUS_RESET.  KVM emulates v4's freezing for PerfMon v5
 * vCPUs.  Also test that vCPUs whose CPUID says v2, v3 or v4 (all emulated
 * as v2) can't set Freeze_PerfMon_On_PMI, and that a frozen state restored
 * by userspace freezes.
 *
 * Guest LBRs exist only on hosts without Arch LBR (i.e. before Sapphire
 * Rapids) and with the mediated vPMU disabled; the LBR tests skip elsewhere.
 *
 * Also test that a vCPU frozen by a PMI migrates (migrated_freeze*): saved
 * in its PMI handler before the ack and restored into a new VM, with the PMU
 * MSRs in QEMU's order, once with DEBUGCTL and once without (QEMU doesn't
 * migrate it), it is still frozen, and the ack unfreezes it.
 *
 * Also test that KVM keeps the guest's LBR records when the guest stops
 * recording and is scheduled out and in before it reads them (lbr_records_kept,
 * which needs no counting: it plants its own record, and which runs with the
 * version KVM reports, as the records were lost before PerfMon v4 too), and
 * releases the LBR event once the guest has abandoned its LBRs for whole time
 * slices; that it keeps the LBRs of a v2 PMI handler that is scheduled out
 * before it reads them (lbr_records_kept_in_pmi); that it keeps frozen LBRs
 * (lbr_records_kept_frozen); and that it keeps L1's LBRs while L2 runs
 * (l1_lbr_records_kept_in_l2, nested VMX).
 *
 * The _fep variants count only instructions that KVM emulates, via the forced
 * emulation prefix, so that they don't depend on the hardware counting (on
 * hardware, counts include the instructions that the CPU retires).  They
 * check the freeze bits, not the LBR stack, which only hardware records.
 */
#include "kselftest_harness.h"

#include "apic.h"
#include "pmu.h"
#include "processor.h"
#include "vmx.h"

/* Above the PMI's priority class: the timer wakes a halt in the PMI handler. */
#define TIMER_VECTOR			0x50

/* APIC timer ticks until the halted vCPU is woken up (1ms at 1GHz). */
#define SCHED_OUT_TMICT			1000000

/*
 * Sched-outs after which an abandoned LBR event must be gone: KVM releases it
 * after a whole time slice without accesses and with the LBR MSRs intercepted,
 * i.e. at the third cleanup after the last access at the latest.
 */
#define NR_IDLE_SLICES			5

/* Time slices of L2 without an exit to L1, more than enough for a release. */
#define NR_L2_SLICES			20

/* A canonical address for an LBR record that no branch writes. */
#define LBR_MAGIC_FROM			0x401000ull

/* Instructions until counter 0 overflows, and per spin(). */
#define NR_INSNS_TO_OVERFLOW		10000
#define NR_SPIN_INSNS			1000
#define NR_FEP_INSNS_TO_OVERFLOW	100
#define NR_FEP_SPIN_INSNS		10

enum freeze_test {
	TEST_FREEZE_COUNTERS,
	TEST_FREEZE_LBRS,
	TEST_RESTORED_FREEZE,
	TEST_MIGRATED_FREEZE,
	TEST_LBRS_IN_PMI,
};

/* Set by the host. */
static enum freeze_test test;
static bool guest_has_lbrs;
static bool use_fep;
/* Whether the host restores DEBUGCTL after migrating the vCPU (QEMU doesn't). */
static bool migrate_debugctl;

static bool has_lbrs;
static u8 kvm_pmu_version;

static u64 nr_pmis;

/* Instructions, emulated by KVM with use_fep. */
static void spin(void)
{
	int i;

	if (use_fep) {
		for (i = 0; i < NR_FEP_SPIN_INSNS; i++)
			asm volatile(KVM_FEP "nop");
		return;
	}
	for (i = 0; i < NR_SPIN_INSNS; i++)
		asm volatile("nop");
}

/* Branches, with a jump per iteration that the LBRs record if enabled. */
static void branch(void)
{
	u64 n = 37;

	asm volatile("1: dec %0; jnz 1b" : "+r"(n));
}

static void guest_assert_counter0_frozen(void)
{
	u64 before = rdmsr(MSR_IA32_PERFCTR0);

	spin();
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_PERFCTR0), before);
}

static void guest_assert_counter0_counts(void)
{
	u64 min = use_fep ? NR_FEP_SPIN_INSNS : 1;
	u64 before = rdmsr(MSR_IA32_PERFCTR0), after;

	spin();
	after = rdmsr(MSR_IA32_PERFCTR0);
	__GUEST_ASSERT(after - before >= min,
		       "Counter 0 doesn't count, 0x%lx => 0x%lx, expected +%lu",
		       before, after, min);
}

static void guest_pmi_freeze_counters(u64 status)
{
	__GUEST_ASSERT(status & GLOBAL_STATUS_COUNTERS_FROZEN,
		       "CTR_Frz not set on PMI, status = 0x%lx", status);
	__GUEST_ASSERT(status & BIT_ULL(0),
		       "Counter 0 overflow not set on PMI, status = 0x%lx", status);
	GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_CTRL), BIT_ULL(0));

	/* Frozen, including KVM's emulation of RDMSR. */
	guest_assert_counter0_frozen();

	/* Acking CTR_Frz (and the overflow) resumes counting. */
	wrmsr(MSR_CORE_PERF_GLOBAL_OVF_CTRL, status);
	GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_STATUS), 0);
	guest_assert_counter0_counts();
}

/* The top of the LBR stack: TOS and the FROM address it points at. */
static void lbr_top(u64 *tos, u64 *from)
{
	*tos = rdmsr(MSR_LBR_TOS);
	*from = rdmsr(MSR_LBR_NHM_FROM + *tos);
}

/* Branches don't change the LBR stack. */
static void guest_assert_lbrs_frozen(bool has_records)
{
	u64 tos, from, tos2, from2;

	lbr_top(&tos, &from);
	__GUEST_ASSERT(from || !has_records,
		       "No LBR records, is a host perf event using the LBRs?");
	branch();
	lbr_top(&tos2, &from2);
	GUEST_ASSERT_EQ(tos, tos2);
	GUEST_ASSERT_EQ(from, from2);
}

/* Branches change the LBR stack. */
static void guest_assert_lbrs_record(void)
{
	u64 tos, from, tos2, from2;

	lbr_top(&tos, &from);
	branch();
	lbr_top(&tos2, &from2);
	__GUEST_ASSERT(tos2 != tos || from2 != from,
		       "LBRs don't record, TOS %lu, FROM 0x%lx", tos, from);
}

static void guest_pmi_freeze_lbrs(u64 status)
{
	u64 debugctl = rdmsr(MSR_IA32_DEBUGCTLMSR);

	__GUEST_ASSERT(status & GLOBAL_STATUS_LBRS_FROZEN,
		       "LBR_Frz not set on PMI, status = 0x%lx", status);
	__GUEST_ASSERT(!(status & GLOBAL_STATUS_COUNTERS_FROZEN),
		       "CTR_Frz set without Freeze_PerfMon_On_PMI, status = 0x%lx", status);
	GUEST_ASSERT(debugctl & DEBUGCTLMSR_LBR);

	/* LBR_Frz doesn't freeze the counters, acking it clears it. */
	if (use_fep) {
		guest_assert_counter0_counts();
		wrmsr(MSR_CORE_PERF_GLOBAL_OVF_CTRL, status);
		GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_STATUS), 0);
		return;
	}
	guest_assert_lbrs_frozen(true);

	/*
	 * Clearing LBR_Frz doesn't enable LBRs the guest disabled meanwhile,
	 * enabling LBRs does.
	 */
	wrmsr(MSR_IA32_DEBUGCTLMSR, debugctl & ~DEBUGCTLMSR_LBR);
	wrmsr(MSR_CORE_PERF_GLOBAL_OVF_CTRL, status);
	guest_assert_lbrs_frozen(true);
	wrmsr(MSR_IA32_DEBUGCTLMSR, debugctl);
	guest_assert_lbrs_record();
}

/*
 * Frozen by the PMI, the vCPU is migrated before the PMI handler acks the
 * freeze: the frozen state must survive, and the ack must unfreeze.
 */
static void guest_pmi_migrated(u64 status)
{
	u64 frozen = GLOBAL_STATUS_COUNTERS_FROZEN | BIT_ULL(0);
	u64 debugctl = rdmsr(MSR_IA32_DEBUGCTLMSR);
	u64 counter = rdmsr(MSR_IA32_PERFCTR0);

	if (guest_has_lbrs)
		frozen |= GLOBAL_STATUS_LBRS_FROZEN;
	GUEST_ASSERT_EQ(status, frozen);

	/* The host saves the vCPU here and restores it into a new VM. */
	GUEST_SYNC(status);

	GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_STATUS), status);
	GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_CTRL), BIT_ULL(0));
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_PERFCTR0), counter);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_DEBUGCTLMSR), migrate_debugctl ? debugctl : 0);
	guest_assert_counter0_frozen();

	wrmsr(MSR_CORE_PERF_GLOBAL_OVF_CTRL, status);
	GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_STATUS), 0);
	guest_assert_counter0_counts();
}

static void guest_timer_handler(struct ex_regs *regs)
{
	x2apic_write_reg(APIC_EOI, 0);
}

/* A one-shot APIC timer for guest_sched_out(), in x2APIC mode. */
static void guest_timer_init(void)
{
	x2apic_enable();
	x2apic_write_reg(APIC_LVTT, TIMER_VECTOR);
	x2apic_write_reg(APIC_TDCR, 0xb);	/* Divide by 1. */
}

/*
 * Halt until the APIC timer fires: the vCPU blocks, i.e. is scheduled out,
 * and KVM cleans up unused PMU resources when it's scheduled back in.
 */
static void guest_sched_out(void)
{
	x2apic_write_reg(APIC_TMICT, SCHED_OUT_TMICT);
	asm volatile("sti; hlt; cli" ::: "memory");
}

/*
 * A v2 PMI handler after the legacy Freeze_LBRs_On_PMI, i.e. with DEBUGCTL.LBR
 * cleared by the PMI: it exits on GLOBAL_CTRL, gets scheduled out and in right
 * there, and then reads the LBRs.  KVM must keep the records, as it can't know
 * whether the guest read them: the LBR MSRs were passed through until the PMI.
 * The top record is non-zero, a branch on hardware, the pattern the guest
 * wrote before the PMI on emulators, unless perf wiped the LBR stack for a new
 * guest LBR event.
 */
static void guest_pmi_lbrs_in_use(u64 status)
{
	u64 debugctl = rdmsr(MSR_IA32_DEBUGCTLMSR);
	u64 tos, from;

	__GUEST_ASSERT(!(debugctl & DEBUGCTLMSR_LBR),
		       "DEBUGCTL.LBR not cleared on a PerfMon v2 PMI, DEBUGCTL = 0x%lx",
		       debugctl);
	wrmsr(MSR_CORE_PERF_GLOBAL_CTRL, 0);
	guest_sched_out();

	lbr_top(&tos, &from);
	__GUEST_ASSERT(from, "LBR records lost in the PMI handler: TOS %lu, FROM 0", tos);
	wrmsr(MSR_CORE_PERF_GLOBAL_OVF_CTRL, status);
}

static void guest_pmi_handler(struct ex_regs *regs)
{
	u64 status = rdmsr(MSR_CORE_PERF_GLOBAL_STATUS);

	if (test == TEST_FREEZE_COUNTERS)
		guest_pmi_freeze_counters(status);
	else if (test == TEST_MIGRATED_FREEZE)
		guest_pmi_migrated(status);
	else if (test == TEST_LBRS_IN_PMI)
		guest_pmi_lbrs_in_use(status);
	else
		guest_pmi_freeze_lbrs(status);

	WRITE_ONCE(nr_pmis, nr_pmis + 1);
	x2apic_write_reg(APIC_EOI, 0);
}

/* Count instructions with counter 0, and get a PMI when it overflows. */
static void guest_overflow_counter0(void)
{
	int i;

	wrmsr(MSR_CORE_PERF_GLOBAL_CTRL, 0);
	wrmsr(MSR_IA32_PERFCTR0, use_fep ? -NR_FEP_INSNS_TO_OVERFLOW :
					   -NR_INSNS_TO_OVERFLOW);
	wrmsr(MSR_P6_EVNTSEL0, INTEL_ARCH_INSTRUCTIONS_RETIRED |
	      ARCH_PERFMON_EVENTSEL_OS | ARCH_PERFMON_EVENTSEL_INT |
	      ARCH_PERFMON_EVENTSEL_ENABLE);
	wrmsr(MSR_CORE_PERF_GLOBAL_CTRL, BIT_ULL(0));

	for (i = 0; i < 1000 && !READ_ONCE(nr_pmis); i++)
		spin();

	wrmsr(MSR_CORE_PERF_GLOBAL_CTRL, 0);
	GUEST_ASSERT_EQ(READ_ONCE(nr_pmis), 1);
}

/*
 * Stop recording with the LBR MSRs passed through, so that KVM sees no LBR
 * access, let the vCPU be scheduled out and in, then read the records: KVM
 * must keep them, as it can't know that the guest didn't read them (e.g. a
 * v2/v3 PMI handler after a legacy freeze).  The top record is overwritten
 * with a value no branch writes right before recording stops, without a
 * branch in between, so that the check works whether or not the LBRs record.
 */
static void guest_code_lbr_lifetime(void)
{
	u32 ecx, eax, edx;
	u64 tos, from;
	int i;

	guest_timer_init();

	/* Recording, across time slices: KVM passes the LBR MSRs through. */
	wrmsr(MSR_IA32_DEBUGCTLMSR, DEBUGCTLMSR_LBR);
	for (i = 0; i < 2; i++)
		guest_sched_out();

	tos = rdmsr(MSR_LBR_TOS);
	ecx = MSR_LBR_NHM_FROM + tos;
	eax = (u32)LBR_MAGIC_FROM;
	edx = LBR_MAGIC_FROM >> 32;
	asm volatile("wrmsr\n\t"
		     "mov %[debugctl], %%ecx\n\t"
		     "xor %%eax, %%eax\n\t"
		     "xor %%edx, %%edx\n\t"
		     "wrmsr"
		     : "+c"(ecx), "+a"(eax), "+d"(edx)
		     : [debugctl]"i"(MSR_IA32_DEBUGCTLMSR)
		     : "memory");

	guest_sched_out();

	from = rdmsr(MSR_LBR_NHM_FROM + tos);
	__GUEST_ASSERT(from == LBR_MAGIC_FROM,
		       "LBR record %lu lost across a sched-out/in: FROM 0x%lx, expected 0x%llx",
		       tos, from, LBR_MAGIC_FROM);

	/*
	 * Abandoned for whole time slices (without accesses, and with the LBR
	 * MSRs intercepted), the LBR event is released: its successor, created
	 * by the next access, starts with an empty stack.
	 */
	for (i = 0; i < NR_IDLE_SLICES; i++)
		guest_sched_out();
	tos = rdmsr(MSR_LBR_TOS);
	from = rdmsr(MSR_LBR_NHM_FROM + tos);
	__GUEST_ASSERT(!from,
		       "LBR event kept for %d time slices without LBR use: FROM 0x%lx",
		       NR_IDLE_SLICES, from);
	GUEST_DONE();
}

/*
 * Frozen LBRs (LBR_Frz, PerfMon v4+) are in use: DEBUGCTL.LBR stays set.  The
 * planted record survives sched-outs, on hardware too, as frozen LBRs don't
 * record.
 */
static void guest_code_lbr_frozen_lifetime(void)
{
	u64 tos, from;
	int i;

	guest_timer_init();

	wrmsr(MSR_IA32_DEBUGCTLMSR, DEBUGCTLMSR_LBR | DEBUGCTLMSR_FREEZE_LBRS_ON_PMI);
	guest_sched_out();
	wrmsr(MSR_CORE_PERF_GLOBAL_STATUS_SET, GLOBAL_STATUS_LBRS_FROZEN);
	tos = rdmsr(MSR_LBR_TOS);
	wrmsr(MSR_LBR_NHM_FROM + tos, LBR_MAGIC_FROM);

	for (i = 0; i < NR_IDLE_SLICES; i++)
		guest_sched_out();

	from = rdmsr(MSR_LBR_NHM_FROM + tos);
	__GUEST_ASSERT(from == LBR_MAGIC_FROM,
		       "Frozen LBR record %lu lost across sched-outs/ins: FROM 0x%lx, expected 0x%llx",
		       tos, from, LBR_MAGIC_FROM);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_DEBUGCTLMSR),
			DEBUGCTLMSR_LBR | DEBUGCTLMSR_FREEZE_LBRS_ON_PMI);
	wrmsr(MSR_CORE_PERF_GLOBAL_OVF_CTRL, GLOBAL_STATUS_LBRS_FROZEN);
	wrmsr(MSR_IA32_DEBUGCTLMSR, 0);
	GUEST_DONE();
}

/*
 * Record with the legacy Freeze_LBRs_On_PMI (PerfMon v2) and get a PMI, whose
 * handler is scheduled out before it reads the LBRs, see guest_pmi_lbrs_in_use().
 */
static void guest_code_lbr_pmi(void)
{
	u64 tos;

	guest_timer_init();
	x2apic_write_reg(APIC_LVTPC, PMI_VECTOR);

	wrmsr(MSR_IA32_DEBUGCTLMSR, DEBUGCTLMSR_LBR | DEBUGCTLMSR_FREEZE_LBRS_ON_PMI);
	tos = rdmsr(MSR_LBR_TOS);
	wrmsr(MSR_LBR_NHM_FROM + tos, LBR_MAGIC_FROM);
	sti_nop();
	guest_overflow_counter0();
	cli();
	wrmsr(MSR_IA32_DEBUGCTLMSR, 0);
	GUEST_DONE();
}

/*
 * L2 gets scheduled out NR_L2_SLICES times, woken by L1's APIC timer, then
 * exits to L1.
 */
static void l2_guest_code_sched_out(void)
{
	int i;

	for (i = 0; i < NR_L2_SLICES; i++)
		guest_sched_out();
	vmcall();
}

/*
 * L1 records branches while L2, which doesn't (vmcs12's DEBUGCTL is 0), gets
 * scheduled out and in for whole time slices without exiting to L1: KVM must
 * keep L1's LBR records, as L1 still uses its LBRs.  The top record is a
 * written pattern for emulators, where LBRs don't record; on hardware, it is
 * a branch L1 recorded since.  Either way it is non-zero, unless perf wiped
 * the LBR stack for a new guest LBR event.
 */
static void l1_guest_code_lbr_lifetime(struct vmx_pages *vmx_pages)
{
	u64 tos, from;

	guest_timer_init();

	GUEST_ASSERT(prepare_for_vmx_operation(vmx_pages));
	GUEST_ASSERT(load_vmcs(vmx_pages));
	prepare_vmcs(vmx_pages, l2_guest_code_sched_out);
	/* No exits for L2's MSR accesses, e.g. of the APIC timer. */
	vmwrite(CPU_BASED_VM_EXEC_CONTROL,
		vmreadz(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_USE_MSR_BITMAPS);

	wrmsr(MSR_IA32_DEBUGCTLMSR, DEBUGCTLMSR_LBR);
	tos = rdmsr(MSR_LBR_TOS);
	wrmsr(MSR_LBR_NHM_FROM + tos, LBR_MAGIC_FROM);

	GUEST_ASSERT(!vmlaunch());
	GUEST_ASSERT_EQ(vmreadz(VM_EXIT_REASON), EXIT_REASON_VMCALL);

	tos = rdmsr(MSR_LBR_TOS);
	from = rdmsr(MSR_LBR_NHM_FROM + tos);
	__GUEST_ASSERT(from, "L1's LBR records lost while L2 ran: TOS %lu, FROM 0", tos);
	GUEST_DONE();
}

static void guest_code(u64 debugctl)
{
	x2apic_enable();
	x2apic_write_reg(APIC_LVTPC, PMI_VECTOR);

	wrmsr(MSR_IA32_DEBUGCTLMSR, debugctl);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_DEBUGCTLMSR), debugctl);
	sti_nop();
	guest_overflow_counter0();
	cli();
	wrmsr(MSR_IA32_DEBUGCTLMSR, 0);
	GUEST_DONE();
}

/*
 * GLOBAL_STATUS restored by userspace with CTR_Frz (and LBR_Frz with LBRs),
 * counter 0 enabled (and LBRs): frozen until the guest clears the bits.  Then
 * freezing via GLOBAL_STATUS_SET.
 */
static void guest_code_restored(void)
{
	bool lbr_records = guest_has_lbrs && !use_fep;
	u64 frozen = GLOBAL_STATUS_COUNTERS_FROZEN;

	if (guest_has_lbrs)
		frozen |= GLOBAL_STATUS_LBRS_FROZEN;

	GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_STATUS), frozen);
	guest_assert_counter0_frozen();
	if (lbr_records)
		guest_assert_lbrs_frozen(false);

	wrmsr(MSR_CORE_PERF_GLOBAL_OVF_CTRL, frozen);
	guest_assert_counter0_counts();
	if (lbr_records)
		guest_assert_lbrs_record();

	wrmsr(MSR_CORE_PERF_GLOBAL_STATUS_SET, frozen);
	guest_assert_counter0_frozen();
	if (lbr_records)
		guest_assert_lbrs_frozen(true);

	wrmsr(MSR_CORE_PERF_GLOBAL_OVF_CTRL, frozen);
	guest_assert_counter0_counts();
	if (lbr_records)
		guest_assert_lbrs_record();
	GUEST_DONE();
}

/* Without PerfMon v4, Freeze_PerfMon_On_PMI (bit 12) is reserved. */
static void guest_code_legacy(void)
{
	u8 vector = wrmsr_safe(MSR_IA32_DEBUGCTLMSR, DEBUGCTLMSR_FREEZE_PERFMON_ON_PMI);

	__GUEST_ASSERT(vector == GP_VECTOR,
		       "Expected #GP on DEBUGCTL.Freeze_PerfMon_On_PMI, got %s",
		       ex_str(vector));
	GUEST_DONE();
}

static struct kvm_vcpu *create_vcpu(struct kvm_vm **vm, void *guest_code,
				    u8 version, enum freeze_test t, bool fep)
{
	struct kvm_vcpu *vcpu;

	*vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vm_install_exception_handler(*vm, PMI_VECTOR, guest_pmi_handler);
	vcpu_set_cpuid_property(vcpu, X86_PROPERTY_PMU_VERSION, version);
	test = t;
	use_fep = fep;
	sync_global_to_guest(*vm, test);
	sync_global_to_guest(*vm, use_fep);
	return vcpu;
}

static void test_freeze(enum freeze_test t, u64 debugctl, bool fep)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vcpu = create_vcpu(&vm, guest_code, 5, t, fep);
	vcpu_args_set(vcpu, 1, debugctl);
	pmu_run_vcpu_to_done(vcpu);
	kvm_vm_free(vm);
}

/* Userspace restores a frozen state, the vCPU must be frozen. */
static void test_restored_freeze(bool fep)
{
	u64 debugctl = DEBUGCTLMSR_FREEZE_PERFMON_ON_PMI;
	u64 status = GLOBAL_STATUS_COUNTERS_FROZEN;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vcpu = create_vcpu(&vm, guest_code_restored, 5, TEST_RESTORED_FREEZE, fep);
	guest_has_lbrs = has_lbrs;
	sync_global_to_guest(vm, guest_has_lbrs);

	if (has_lbrs) {
		debugctl |= DEBUGCTLMSR_LBR | DEBUGCTLMSR_FREEZE_LBRS_ON_PMI;
		status |= GLOBAL_STATUS_LBRS_FROZEN;
	}

	/* Restore the status first, the freeze must apply to DEBUGCTL anyway. */
	vcpu_set_msr(vcpu, MSR_CORE_PERF_GLOBAL_STATUS, status);
	vcpu_set_msr(vcpu, MSR_IA32_DEBUGCTLMSR, debugctl);

	/* Userspace reads the guest's DEBUGCTL, frozen or not. */
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_IA32_DEBUGCTLMSR), debugctl);

	vcpu_set_msr(vcpu, MSR_IA32_PERFCTR0, 0);
	vcpu_set_msr(vcpu, MSR_P6_EVNTSEL0,
		     INTEL_ARCH_INSTRUCTIONS_RETIRED | ARCH_PERFMON_EVENTSEL_OS |
		     ARCH_PERFMON_EVENTSEL_ENABLE);
	vcpu_set_msr(vcpu, MSR_CORE_PERF_GLOBAL_CTRL, BIT_ULL(0));
	pmu_run_vcpu_to_done(vcpu);
	kvm_vm_free(vm);
}

/* The PMU MSRs that KVM_GET_MSR_INDEX_LIST may list. */
static bool is_pmu_msr(u32 msr)
{
	return (msr >= MSR_IA32_PERFCTR0 && msr < MSR_IA32_PERFCTR0 + 32) ||
	       (msr >= MSR_P6_EVNTSEL0 && msr < MSR_P6_EVNTSEL0 + 32) ||
	       (msr >= MSR_IA32_PMC0 && msr < MSR_IA32_PMC0 + 32) ||
	       (msr >= MSR_CORE_PERF_FIXED_CTR0 && msr < MSR_CORE_PERF_FIXED_CTR0 + 16) ||
	       (msr >= MSR_CORE_PERF_FIXED_CTR_CTRL && msr <= MSR_CORE_PERF_GLOBAL_INUSE);
}

/* QEMU's limit: it migrates fixed counters 0-2 at most. */
#define QEMU_MAX_FIXED_COUNTERS		3

/* The PMU MSRs that QEMU migrates. */
struct qemu_pmu_msrs {
	u64 fixed_ctr_ctrl;
	u64 global_ctrl;
	u64 global_status;
	u64 fixed[QEMU_MAX_FIXED_COUNTERS];
	u64 gp[32][2];	/* counter, event select (GLOBAL_CTRL has 32 GP bits) */
};

static u8 qemu_nr_gp(void)
{
	return kvm_cpu_property(X86_PROPERTY_PMU_NR_GP_COUNTERS);
}

/* QEMU migrates the fixed counters below CPUID.0xA.EDX[4:0] only. */
static u8 qemu_nr_fixed(void)
{
	u8 nr = kvm_cpu_property(X86_PROPERTY_PMU_NR_FIXED_COUNTERS);

	return nr < QEMU_MAX_FIXED_COUNTERS ? nr : QEMU_MAX_FIXED_COUNTERS;
}

static void save_pmu_msrs_as_qemu(struct kvm_vcpu *vcpu, struct qemu_pmu_msrs *m)
{
	int i;

	m->fixed_ctr_ctrl = vcpu_get_msr(vcpu, MSR_CORE_PERF_FIXED_CTR_CTRL);
	m->global_ctrl = vcpu_get_msr(vcpu, MSR_CORE_PERF_GLOBAL_CTRL);
	m->global_status = vcpu_get_msr(vcpu, MSR_CORE_PERF_GLOBAL_STATUS);
	for (i = 0; i < qemu_nr_fixed(); i++)
		m->fixed[i] = vcpu_get_msr(vcpu, MSR_CORE_PERF_FIXED_CTR0 + i);
	for (i = 0; i < qemu_nr_gp(); i++) {
		m->gp[i][0] = vcpu_get_msr(vcpu, MSR_IA32_PERFCTR0 + i);
		m->gp[i][1] = vcpu_get_msr(vcpu, MSR_P6_EVNTSEL0 + i);
	}
}

/*
 * Restore the PMU MSRs in QEMU's order: both controls off, the counters and
 * event selects, GLOBAL_STATUS, OVF_CTRL (QEMU writes the value it saved,
 * i.e. 0), then the controls.
 */
static void restore_pmu_msrs_as_qemu(struct kvm_vcpu *vcpu, struct qemu_pmu_msrs *m)
{
	int i;

	vcpu_set_msr(vcpu, MSR_CORE_PERF_FIXED_CTR_CTRL, 0);
	vcpu_set_msr(vcpu, MSR_CORE_PERF_GLOBAL_CTRL, 0);
	for (i = 0; i < qemu_nr_fixed(); i++)
		vcpu_set_msr(vcpu, MSR_CORE_PERF_FIXED_CTR0 + i, m->fixed[i]);
	for (i = 0; i < qemu_nr_gp(); i++) {
		vcpu_set_msr(vcpu, MSR_IA32_PERFCTR0 + i, m->gp[i][0]);
		vcpu_set_msr(vcpu, MSR_P6_EVNTSEL0 + i, m->gp[i][1]);
	}
	vcpu_set_msr(vcpu, MSR_CORE_PERF_GLOBAL_STATUS, m->global_status);
	vcpu_set_msr(vcpu, MSR_CORE_PERF_GLOBAL_OVF_CTRL, 0);
	vcpu_set_msr(vcpu, MSR_CORE_PERF_FIXED_CTR_CTRL, m->fixed_ctr_ctrl);
	vcpu_set_msr(vcpu, MSR_CORE_PERF_GLOBAL_CTRL, m->global_ctrl);
}

/*
 * Freeze on a PMI, migrate the vCPU in the PMI handler before it acks the
 * freeze: save it, including the local APIC (the PMI is in service), and
 * restore it into a new VM, with the PMU MSRs restored as QEMU does it.
 * DEBUGCTL, which KVM lists in KVM_GET_MSR_INDEX_LIST but QEMU doesn't
 * migrate, is restored before the PMU MSRs, or not at all: then the guest's
 * LBRs and freeze settings are gone (0), while the restored freeze holds
 * until the guest acks it.
 */
static void test_migrated_freeze(bool fep, bool restore_debugctl)
{
	u64 debugctl = DEBUGCTLMSR_FREEZE_PERFMON_ON_PMI;
	struct kvm_lapic_state lapic;
	struct kvm_x86_state *state;
	struct qemu_pmu_msrs pmu;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	u32 i, n;

	if (has_lbrs)
		debugctl |= DEBUGCTLMSR_LBR | DEBUGCTLMSR_FREEZE_LBRS_ON_PMI;

	vcpu = create_vcpu(&vm, guest_code, 5, TEST_MIGRATED_FREEZE, fep);
	guest_has_lbrs = has_lbrs;
	migrate_debugctl = restore_debugctl;
	sync_global_to_guest(vm, guest_has_lbrs);
	sync_global_to_guest(vm, migrate_debugctl);
	vcpu_args_set(vcpu, 1, debugctl);

	TEST_ASSERT_EQ(pmu_run_vcpu(vcpu, &uc), UCALL_SYNC);

	/* Userspace reads the guest's DEBUGCTL and the frozen status. */
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_IA32_DEBUGCTLMSR), debugctl);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_CORE_PERF_GLOBAL_STATUS), uc.args[1]);

	state = vcpu_save_state(vcpu);
	vcpu_ioctl(vcpu, KVM_GET_LAPIC, &lapic);
	save_pmu_msrs_as_qemu(vcpu, &pmu);
	kvm_vm_release(vm);

	/*
	 * The PMU MSRs are restored below, in QEMU's order, and DEBUGCTL, which
	 * KVM lists but QEMU doesn't migrate, only if @restore_debugctl.
	 */
	for (i = 0, n = 0; i < state->msrs.nmsrs; i++) {
		u32 msr = state->msrs.entries[i].index;

		if (!is_pmu_msr(msr) && msr != MSR_IA32_DEBUGCTLMSR)
			state->msrs.entries[n++] = state->msrs.entries[i];
	}
	state->msrs.nmsrs = n;

	vcpu = vm_recreate_with_one_vcpu(vm);
	vcpu_set_cpuid_property(vcpu, X86_PROPERTY_PMU_VERSION, 5);
	vcpu_load_state(vcpu, state);
	vcpu_ioctl(vcpu, KVM_SET_LAPIC, &lapic);
	kvm_x86_state_cleanup(state);
	if (restore_debugctl)
		vcpu_set_msr(vcpu, MSR_IA32_DEBUGCTLMSR, debugctl);
	restore_pmu_msrs_as_qemu(vcpu, &pmu);

	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_CORE_PERF_GLOBAL_STATUS), uc.args[1]);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_IA32_DEBUGCTLMSR),
		       restore_debugctl ? debugctl : 0);
	pmu_run_vcpu_to_done(vcpu);
	kvm_vm_free(vm);
}

#define NO_FEP	"Forced emulation prefix disabled (kvm.force_emulation_prefix=0)"
#define NO_LBRS	"No guest LBRs (need a host without Arch LBR, enable_mediated_pmu=0)"
/* Streamlined freezing is emulated for PerfMon v5 vCPUs. */
#define NO_V5	"KVM reports PMU version %u, need 5 (pmu_global_msrs_test checks the version)"

TEST(legacy_freeze_perfmon_reserved)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	u8 v;

	if (kvm_pmu_version < 5)
		SKIP(return, NO_V5, kvm_pmu_version);

	/* KVM emulates v3 and v4 as v2 (AnyThread). */
	for (v = 2; v <= 4; v++) {
		vcpu = create_vcpu(&vm, guest_code_legacy, v, TEST_FREEZE_COUNTERS, false);
		pmu_run_vcpu_to_done(vcpu);
		kvm_vm_free(vm);
	}
}

TEST(freeze_counters)
{
	if (kvm_pmu_version < 5)
		SKIP(return, NO_V5, kvm_pmu_version);
	test_freeze(TEST_FREEZE_COUNTERS, DEBUGCTLMSR_FREEZE_PERFMON_ON_PMI, false);
}

TEST(freeze_counters_fep)
{
	if (kvm_pmu_version < 5)
		SKIP(return, NO_V5, kvm_pmu_version);
	if (!is_forced_emulation_enabled)
		SKIP(return, NO_FEP);
	test_freeze(TEST_FREEZE_COUNTERS, DEBUGCTLMSR_FREEZE_PERFMON_ON_PMI, true);
}

TEST(restored_freeze)
{
	if (kvm_pmu_version < 5)
		SKIP(return, NO_V5, kvm_pmu_version);
	test_restored_freeze(false);
}

TEST(restored_freeze_fep)
{
	if (kvm_pmu_version < 5)
		SKIP(return, NO_V5, kvm_pmu_version);
	if (!is_forced_emulation_enabled)
		SKIP(return, NO_FEP);
	test_restored_freeze(true);
}

TEST(migrated_freeze)
{
	if (kvm_pmu_version < 5)
		SKIP(return, NO_V5, kvm_pmu_version);
	test_migrated_freeze(false, true);
}

TEST(migrated_freeze_fep)
{
	if (kvm_pmu_version < 5)
		SKIP(return, NO_V5, kvm_pmu_version);
	if (!is_forced_emulation_enabled)
		SKIP(return, NO_FEP);
	test_migrated_freeze(true, true);
}

/* As QEMU migrates: without DEBUGCTL. */
TEST(migrated_freeze_no_debugctl)
{
	if (kvm_pmu_version < 5)
		SKIP(return, NO_V5, kvm_pmu_version);
	test_migrated_freeze(false, false);
}

TEST(migrated_freeze_no_debugctl_fep)
{
	if (kvm_pmu_version < 5)
		SKIP(return, NO_V5, kvm_pmu_version);
	if (!is_forced_emulation_enabled)
		SKIP(return, NO_FEP);
	test_migrated_freeze(true, false);
}

TEST(freeze_lbrs)
{
	if (kvm_pmu_version < 5)
		SKIP(return, NO_V5, kvm_pmu_version);
	if (!has_lbrs)
		SKIP(return, NO_LBRS);
	test_freeze(TEST_FREEZE_LBRS, DEBUGCTLMSR_LBR | DEBUGCTLMSR_FREEZE_LBRS_ON_PMI, false);
}

TEST(lbr_records_kept)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	if (!has_lbrs)
		SKIP(return, NO_LBRS);
	/* Any version with LBRs: the bug this catches predates PerfMon v4. */
	vcpu = create_vcpu(&vm, guest_code_lbr_lifetime, kvm_pmu_version,
			   TEST_FREEZE_LBRS, false);
	vm_install_exception_handler(vm, TIMER_VECTOR, guest_timer_handler);
	pmu_run_vcpu_to_done(vcpu);
	kvm_vm_free(vm);
}

/* KVM emulates the legacy Freeze_LBRs_On_PMI below PerfMon v4. */
static void test_lbr_records_kept_in_pmi(bool fep)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vcpu = create_vcpu(&vm, guest_code_lbr_pmi, 2, TEST_LBRS_IN_PMI, fep);
	vm_install_exception_handler(vm, TIMER_VECTOR, guest_timer_handler);
	pmu_run_vcpu_to_done(vcpu);
	kvm_vm_free(vm);
}

TEST(lbr_records_kept_in_pmi)
{
	if (!has_lbrs)
		SKIP(return, NO_LBRS);
	test_lbr_records_kept_in_pmi(false);
}

TEST(lbr_records_kept_in_pmi_fep)
{
	if (!is_forced_emulation_enabled)
		SKIP(return, NO_FEP);
	if (!has_lbrs)
		SKIP(return, NO_LBRS);
	test_lbr_records_kept_in_pmi(true);
}

TEST(l1_lbr_records_kept_in_l2)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	gva_t vmx_pages_gva;

	if (!has_lbrs)
		SKIP(return, NO_LBRS);
	if (!kvm_cpu_has(X86_FEATURE_VMX))
		SKIP(return, "No nested VMX (kvm_intel.nested=0)");

	vm = vm_create_with_one_vcpu(&vcpu, l1_guest_code_lbr_lifetime);
	vm_install_exception_handler(vm, TIMER_VECTOR, guest_timer_handler);
	vcpu_alloc_vmx(vm, &vmx_pages_gva);
	vcpu_args_set(vcpu, 1, vmx_pages_gva);
	pmu_run_vcpu_to_done(vcpu);
	kvm_vm_free(vm);
}

TEST(lbr_records_kept_frozen)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	if (kvm_pmu_version < 5)
		SKIP(return, NO_V5, kvm_pmu_version);
	if (!has_lbrs)
		SKIP(return, NO_LBRS);
	vcpu = create_vcpu(&vm, guest_code_lbr_frozen_lifetime, 5, TEST_FREEZE_LBRS, false);
	vm_install_exception_handler(vm, TIMER_VECTOR, guest_timer_handler);
	pmu_run_vcpu_to_done(vcpu);
	kvm_vm_free(vm);
}

TEST(freeze_lbrs_fep)
{
	if (kvm_pmu_version < 5)
		SKIP(return, NO_V5, kvm_pmu_version);
	if (!is_forced_emulation_enabled)
		SKIP(return, NO_FEP);
	if (!has_lbrs)
		SKIP(return, NO_LBRS);
	test_freeze(TEST_FREEZE_LBRS, DEBUGCTLMSR_LBR | DEBUGCTLMSR_FREEZE_LBRS_ON_PMI, true);
}

int main(int argc, char *argv[])
{
	TEST_REQUIRE(kvm_is_pmu_enabled());
	TEST_REQUIRE(host_cpu_is_intel);

	__TEST_REQUIRE(this_cpu_property(X86_PROPERTY_PMU_VERSION) >= 4,
		       "Host PMU version is %u, need architectural PerfMon v4+ (Skylake or later)",
		       this_cpu_property(X86_PROPERTY_PMU_VERSION));
	kvm_pmu_version = kvm_cpu_property(X86_PROPERTY_PMU_VERSION);
	TEST_REQUIRE(kvm_cpu_property(X86_PROPERTY_PMU_NR_GP_COUNTERS));

	if (kvm_cpu_has(X86_FEATURE_PDCM))
		has_lbrs = kvm_get_feature_msr(MSR_IA32_PERF_CAPABILITIES) & PMU_CAP_LBR_FMT;

	return test_harness_run(argc, argv);
}
