// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test how KVM emulates fixed counters (vmx_pmu_caps_test checks the ones
 * KVM reports).  In guests with PMU versions 2 to 6 and fixed counter
 * configurations with holes, check that exactly the fixed counters that
 * exist are accepted by the counter MSRs, RDPMC, FIXED_CTR_CTRL and the
 * global PMU MSRs, and that all other fixed counters #GP (missing_counters_gp
 * checks only the latter, before any other state changes).  Check that the
 * AnyThread bits #GP, unless the vCPU enumerates AnyThread deprecation with
 * v5, in which case KVM drops them.  That doesn't need counting.
 * Separately, check that fixed counter 0 counts the instructions that KVM
 * emulates (via the forced emulation prefix).  Counting in hardware, with
 * every fixed counter and with holes, is pmu_counters_test's.
 *
 * Per the SDM, fixed counter i exists if CPUID.0xA.EDX[4:0] > i or, for
 * PerfMon v5+, if CPUID.0xA.ECX[i] is set; before v5, ECX is reserved and
 * must be ignored.  KVM emulates the lesser of the guest's version and the
 * version KVM reports, v2 instead of v3 or v4, and only fixed counters that
 * KVM supports exist; the expectations are built from CPUID and that
 * version.
 */
#include "kselftest_harness.h"

#include "pmu.h"
#include "processor.h"

/* The fixed counters with architectural MSRs, 0-3, probed by the tests. */
#define NR_FIXED_COUNTER_MSRS		4

#define NUM_FEP_INSNS			10

enum counting {
	COUNT_NONE,
	COUNT_NONE_MISSING_ONLY,	/* Only the counters that don't exist. */
	COUNT_FIXED0_FEP,	/* Fixed counter 0, instructions KVM emulates. */
};

/* Set by the host for each vCPU. */
static enum counting counting;
static u8 guest_version;
static bool guest_anythread_dropped;
static u64 guest_fixed;
static bool ignore_msrs;
/* Whether KVM passes GLOBAL_STATUS_RESET through (mediated vPMU). */
static bool status_reset_passthrough;

static void guest_wrmsr_gp(u32 msr, u64 val)
{
	u8 vector = wrmsr_safe(msr, val);

	GUEST_ASSERT_PMC_MSR_WRITE(WRMSR, msr, val, true, vector);
}

/* Count with fixed counter 0, return the minimum count expected. */
static u64 guest_count(u8 i)
{
	int n;

	if (counting != COUNT_FIXED0_FEP || i)
		return 0;

	wrmsr(MSR_CORE_PERF_GLOBAL_CTRL, FIXED_PMC_GLOBAL_CTRL_ENABLE(i));
	for (n = 0; n < NUM_FEP_INSNS; n++)
		asm volatile(KVM_FEP "nop");
	wrmsr(MSR_CORE_PERF_GLOBAL_CTRL, 0);
	return NUM_FEP_INSNS;
}

/* A fixed counter that exists: all its controls work, it counts if asked. */
static void guest_test_counter(u8 i)
{
	u64 global = FIXED_PMC_GLOBAL_CTRL_ENABLE(i);
	u32 msr = MSR_CORE_PERF_FIXED_CTR0 + i;
	u64 val, pmc, min;
	u8 vector;

	wrmsr(msr, 0);
	wrmsr(MSR_CORE_PERF_FIXED_CTR_CTRL, FIXED_PMC_CTRL(i, FIXED_PMC_KERNEL));
	if (guest_version >= 4)
		GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_INUSE), global);

	min = guest_count(i);
	val = rdmsr(msr);
	__GUEST_ASSERT(val >= min, "Fixed counter %u counted %lu, expected at least %lu",
		       i, val, min);
	vector = rdpmc_safe(INTEL_RDPMC_FIXED | i, &pmc);
	__GUEST_ASSERT(!vector && pmc == val,
		       "RDPMC of fixed counter %u: %s, 0x%lx, RDMSR 0x%lx",
		       i, ex_str(vector), pmc, val);

	/* AnyThread is dropped if deprecated, reserved otherwise. */
	val = FIXED_PMC_CTRL(i, FIXED_PMC_KERNEL | FIXED_PMC_ANYTHREAD);
	if (guest_anythread_dropped) {
		wrmsr(MSR_CORE_PERF_FIXED_CTR_CTRL, val);
		GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_FIXED_CTR_CTRL),
				FIXED_PMC_CTRL(i, FIXED_PMC_KERNEL));
	} else {
		guest_wrmsr_gp(MSR_CORE_PERF_FIXED_CTR_CTRL, val);
	}

	wrmsr(MSR_CORE_PERF_FIXED_CTR_CTRL, 0);
	wrmsr(msr, 0);

	/* The counter's overflow bit can be cleared, and set with v4+. */
	wrmsr(MSR_CORE_PERF_GLOBAL_OVF_CTRL, global);
	if (guest_version >= 4) {
		GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_INUSE), 0);
		wrmsr(MSR_CORE_PERF_GLOBAL_STATUS_SET, global);
		GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_STATUS), global);
		wrmsr(MSR_CORE_PERF_GLOBAL_OVF_CTRL, global);
	}
	GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_STATUS), 0);
}

/* A fixed counter that doesn't exist: everything about it #GPs. */
static void guest_test_missing_counter(u8 i)
{
	u64 global = FIXED_PMC_GLOBAL_CTRL_ENABLE(i);
	u32 msr = MSR_CORE_PERF_FIXED_CTR0 + i;
	u64 val;
	u8 vector;

	/* With kvm.ignore_msrs=1, KVM doesn't fault unknown MSRs. */
	if (!ignore_msrs) {
		vector = rdmsr_safe(msr, &val);
		GUEST_ASSERT_PMC_MSR_ACCESS(RDMSR, msr, true, vector);
		guest_wrmsr_gp(msr, 0);
	}

	vector = rdpmc_safe(INTEL_RDPMC_FIXED | i, &val);
	__GUEST_ASSERT(vector == GP_VECTOR,
		       "Expected #GP on RDPMC(0x%llx), got %s",
		       INTEL_RDPMC_FIXED | i, ex_str(vector));

	guest_wrmsr_gp(MSR_CORE_PERF_FIXED_CTR_CTRL,
		       FIXED_PMC_CTRL(i, FIXED_PMC_KERNEL));
	guest_wrmsr_gp(MSR_CORE_PERF_GLOBAL_CTRL, global);

	/* Hardware decides if STATUS_RESET is passed through. */
	if (!status_reset_passthrough)
		guest_wrmsr_gp(MSR_CORE_PERF_GLOBAL_OVF_CTRL, global);

	if (guest_version >= 4)
		guest_wrmsr_gp(MSR_CORE_PERF_GLOBAL_STATUS_SET, global);

	GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_STATUS), 0);
}

static void guest_code(void)
{
	u64 all = guest_fixed << 32;
	u64 val;
	u8 i;

	GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_STATUS), 0);

	/*
	 * The counters that don't exist first: their checks need no state of
	 * the ones that do, e.g. no GLOBAL_STATUS_SET round trip.
	 */
	for (i = 0; i < NR_FIXED_COUNTER_MSRS; i++) {
		if (!(guest_fixed & BIT_ULL(i)))
			guest_test_missing_counter(i);
	}
	if (counting == COUNT_NONE_MISSING_ONLY)
		GUEST_DONE();

	for (i = 0; i < NR_FIXED_COUNTER_MSRS; i++) {
		if (guest_fixed & BIT_ULL(i))
			guest_test_counter(i);
	}

	/* GLOBAL_CTRL takes all the fixed counters that exist at once. */
	wrmsr(MSR_CORE_PERF_GLOBAL_CTRL, all);
	GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_CTRL), all);
	wrmsr(MSR_CORE_PERF_GLOBAL_CTRL, 0);

	/* Likewise in the event selectors. */
	val = INTEL_ARCH_CPU_CYCLES | ARCH_PERFMON_EVENTSEL_OS;
	if (guest_anythread_dropped) {
		wrmsr(MSR_P6_EVNTSEL0, val | ARCH_PERFMON_EVENTSEL_ANY);
		GUEST_ASSERT_EQ(rdmsr(MSR_P6_EVNTSEL0), val);
		wrmsr(MSR_P6_EVNTSEL0, 0);
	} else {
		guest_wrmsr_gp(MSR_P6_EVNTSEL0, val | ARCH_PERFMON_EVENTSEL_ANY);
	}
	GUEST_DONE();
}

/* The fixed counters KVM reports. */
static u64 kvm_fixed_counters(void)
{
	return pmu_fixed_counters_mask(kvm_cpu_property(X86_PROPERTY_PMU_VERSION),
				       kvm_cpu_property(X86_PROPERTY_PMU_NR_FIXED_COUNTERS),
				       kvm_cpu_property(X86_PROPERTY_PMU_FIXED_COUNTERS_BITMASK));
}

static void test_fixed_counters(u8 version, u8 nr_fixed, u32 bitmap,
				bool no_anythread_deprecation, enum counting c)
{
	u8 effective = kvm_intel_pmu_emulated_version(version,
						      kvm_cpu_property(X86_PROPERTY_PMU_VERSION));
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	counting = c;
	guest_version = effective;
	guest_anythread_dropped = effective >= 5 && !no_anythread_deprecation;
	guest_fixed = pmu_fixed_counters_mask(effective, nr_fixed, bitmap) &
		      kvm_fixed_counters();

	pr_info("PMU version %u (effective %u), EDX[4:0] = %u, ECX = 0x%x%s: fixed counters 0x%lx\n",
		version, effective, nr_fixed, bitmap,
		no_anythread_deprecation ? ", EDX[15] = 0" : "", guest_fixed);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vcpu_set_cpuid_property(vcpu, X86_PROPERTY_PMU_VERSION, version);
	vcpu_set_cpuid_property(vcpu, X86_PROPERTY_PMU_NR_FIXED_COUNTERS, nr_fixed);
	vcpu_set_cpuid_property(vcpu, X86_PROPERTY_PMU_FIXED_COUNTERS_BITMASK, bitmap);
	if (no_anythread_deprecation)
		vcpu_clear_cpuid_feature(vcpu, X86_FEATURE_PMU_ANYTHREAD_DEPRECATED);
	status_reset_passthrough =
		!kvm_pmu_msr_write_exits(vcpu, MSR_CORE_PERF_GLOBAL_OVF_CTRL, 0);

	sync_global_to_guest(vm, counting);
	sync_global_to_guest(vm, guest_version);
	sync_global_to_guest(vm, guest_anythread_dropped);
	sync_global_to_guest(vm, guest_fixed);
	sync_global_to_guest(vm, ignore_msrs);
	sync_global_to_guest(vm, status_reset_passthrough);

	pmu_run_vcpu_to_done(vcpu);
	kvm_vm_free(vm);
}

static const struct {
	u8 version;
	u8 nr_fixed;
	u32 bitmap;
	bool no_anythread_deprecation;
} configs[] = {
	{ 5, 1, 0b101 },	/* A hole: counters 0 and 2. */
	{ 5, 0, 0b100 },	/* Counter 2 only, beyond any count. */
	{ 5, 0, 0b010 },
	{ 5, 2, 0b100 },
	{ 5, 3, 0 },		/* EDX alone still enumerates. */
	{ 5, 0, 0 },
	{ 5, 0, 0b1000 },	/* Counter 3, where KVM supports it. */
	{ 5, 3, 0, true },	/* AnyThread not deprecated: reserved. */
	{ 6, 1, 0b101 },	/* Above KVM's version: treated as KVM's. */
	{ 4, 1, 0b101 },	/* v3/v4 are emulated as v2: ECX ignored. */
	{ 4, 0, 0b111 },
	{ 3, 2, 0b100 },
	{ 3, 3, 0 },
	{ 2, 1, 0b110 },
	{ 2, 0, 0b111 },
};

/*
 * The CPUID.0xA.ECX bitmap, and what the configurations test, exist only for
 * PerfMon v5: without a v5 KVM, every configuration degenerates to v2-v4.
 */
#define NO_V5 "KVM reports PMU version %u, the fixed counter bitmap needs v5"

static void test_configs(enum counting c)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(configs); i++)
		test_fixed_counters(configs[i].version, configs[i].nr_fixed,
				    configs[i].bitmap,
				    configs[i].no_anythread_deprecation, c);
}

/* Existence and faults, without counting. */
TEST(existence)
{
	if (kvm_cpu_property(X86_PROPERTY_PMU_VERSION) < 5)
		SKIP(return, NO_V5, kvm_cpu_property(X86_PROPERTY_PMU_VERSION));
	test_configs(COUNT_NONE);
}

/*
 * The fixed counters that don't exist, i.e. holes and counters beyond the
 * vCPU's, #GP everywhere, whatever the vPMU flavour passes through to the
 * guest for the counters that exist.
 */
TEST(missing_counters_gp)
{
	if (kvm_cpu_property(X86_PROPERTY_PMU_VERSION) < 5)
		SKIP(return, NO_V5, kvm_cpu_property(X86_PROPERTY_PMU_VERSION));
	test_configs(COUNT_NONE_MISSING_ONLY);
}

/* Fixed counter 0 counts instructions emulated by KVM, where it exists. */
TEST(fixed0_counts_fep)
{
	if (!is_forced_emulation_enabled)
		SKIP(return, "Forced emulation prefix disabled (kvm.force_emulation_prefix=0)");
	if (kvm_cpu_property(X86_PROPERTY_PMU_VERSION) < 5)
		SKIP(return, NO_V5, kvm_cpu_property(X86_PROPERTY_PMU_VERSION));
	test_configs(COUNT_FIXED0_FEP);
}

int main(int argc, char *argv[])
{
	TEST_REQUIRE(kvm_is_pmu_enabled());
	TEST_REQUIRE(host_cpu_is_intel);
	TEST_REQUIRE(kvm_cpu_has_p(X86_PROPERTY_PMU_VERSION));
	__TEST_REQUIRE(kvm_cpu_property(X86_PROPERTY_PMU_VERSION) >= 2,
		       "Fixed counters need PMU version 2+, KVM reports %u",
		       kvm_cpu_property(X86_PROPERTY_PMU_VERSION));

	ignore_msrs = kvm_is_ignore_msrs();

	return test_harness_run(argc, argv);
}
