// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test how KVM enumerates and emulates fixed counters.  From the host, check
 * leaf 0xA of KVM_GET_SUPPORTED_CPUID against the host's CPUID.  In guests
 * with PMU versions 2 to 6 and fixed counter configurations with holes, check
 * that exactly the fixed counters that exist are accepted by the counter
 * MSRs, RDPMC, FIXED_CTR_CTRL and the global PMU MSRs, and that all other
 * fixed counters #GP.  Check that the AnyThread bits #GP, unless the vCPU
 * enumerates AnyThread deprecation with v5, in which case KVM drops them.
 * That doesn't need counting.
 * Separately, check that fixed counter 0 counts the instructions that KVM
 * emulates (via the forced emulation prefix), and that all the fixed counters
 * that exist count on hardware.
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

/*
 * The architectural fixed counters 0-2 (instructions, core cycles, reference
 * cycles): KVM supports at least these where the host has them.  How many
 * more KVM supports differs between its vPMU flavours and versions, so the
 * tests take it from what KVM reports, e.g. fixed counter 3 (topdown slots).
 */
#define ARCH_FIXED_COUNTERS		GENMASK_ULL(2, 0)

#define NUM_LOOPS			1000
#define NUM_FEP_INSNS			10

#define X86_FEATURE_PMU_ANYTHREAD_DEPRECATED	KVM_X86_CPU_FEATURE(0xa, 0, EDX, 15)

enum counting {
	COUNT_NONE,
	COUNT_FIXED0_FEP,	/* Fixed counter 0, instructions KVM emulates. */
	COUNT_HW,		/* All fixed counters, in hardware. */
};

/* Set by the host for each vCPU. */
static enum counting counting;
static u8 guest_version;
static bool guest_anythread_dropped;
static u64 guest_fixed;
static bool ignore_msrs;
static bool status_reset_passthrough;

/* The fixed counters that exist per the SDM, in the layout of ECX. */
static u64 fixed_counters_mask(u8 version, u8 nr_fixed, u32 bitmap)
{
	u64 mask = BIT_ULL(nr_fixed) - 1;

	return version >= 5 ? mask | bitmap : mask;
}

static void guest_assert_access(const char *insn, u32 msr, u64 val,
				bool expect_gp, u8 vector)
{
	__GUEST_ASSERT(expect_gp ? vector == GP_VECTOR : !vector,
		       "Expected %s on %s(0x%x, 0x%lx), got %s",
		       expect_gp ? "#GP" : "no fault", insn, msr, val,
		       ex_str(vector));
}

static void guest_wrmsr_gp(u32 msr, u64 val)
{
	guest_assert_access("WRMSR", msr, val, true, wrmsr_safe(msr, val));
}

/* Count with fixed counter i, return the minimum count expected. */
static u64 guest_count(u8 i)
{
	int n;

	if (counting == COUNT_NONE || (counting == COUNT_FIXED0_FEP && i))
		return 0;

	wrmsr(MSR_CORE_PERF_GLOBAL_CTRL, FIXED_PMC_GLOBAL_CTRL_ENABLE(i));
	if (counting == COUNT_FIXED0_FEP) {
		for (n = 0; n < NUM_FEP_INSNS; n++)
			asm volatile(KVM_FEP "nop");
	} else {
		__asm__ __volatile__("loop ." : "+c"((int){NUM_LOOPS}));
	}
	wrmsr(MSR_CORE_PERF_GLOBAL_CTRL, 0);
	return counting == COUNT_FIXED0_FEP ? NUM_FEP_INSNS : 1;
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
		guest_assert_access("RDMSR", msr, 0, true, vector);
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

	for (i = 0; i < NR_FIXED_COUNTER_MSRS; i++) {
		if (guest_fixed & BIT_ULL(i))
			guest_test_counter(i);
		else
			guest_test_missing_counter(i);
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

static void run_vcpu(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);

	switch (get_ucall(vcpu, &uc)) {
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
		break;
	case UCALL_DONE:
		break;
	default:
		TEST_FAIL("Unexpected ucall: %lu", uc.cmd);
	}
}

static u64 host_fixed_counters(void)
{
	return fixed_counters_mask(this_cpu_property(X86_PROPERTY_PMU_VERSION),
				   this_cpu_property(X86_PROPERTY_PMU_NR_FIXED_COUNTERS),
				   this_cpu_property(X86_PROPERTY_PMU_FIXED_COUNTERS_BITMASK));
}

static u64 kvm_fixed_counters(void)
{
	return fixed_counters_mask(kvm_cpu_property(X86_PROPERTY_PMU_VERSION),
				   kvm_cpu_property(X86_PROPERTY_PMU_NR_FIXED_COUNTERS),
				   kvm_cpu_property(X86_PROPERTY_PMU_FIXED_COUNTERS_BITMASK));
}

/*
 * KVM reports v5 on v4+ hosts and v2 at most otherwise, and the host's fixed
 * counters that KVM supports: as a bitmap in ECX for v5+, and as the contiguous counters up
 * to the first hole in EDX[4:0].
 */
TEST(supported_cpuid)
{
	u8 host_version = this_cpu_property(X86_PROPERTY_PMU_VERSION);
	u8 kvm_version = kvm_cpu_property(X86_PROPERTY_PMU_VERSION);
	u8 expected_version = host_version >= 4 ? 5 : min_t(u8, host_version, 2);
	u8 nr_fixed = kvm_cpu_property(X86_PROPERTY_PMU_NR_FIXED_COUNTERS);
	u32 bitmap = kvm_cpu_property(X86_PROPERTY_PMU_FIXED_COUNTERS_BITMASK);
	u64 host_fixed = host_fixed_counters();
	u64 kvm_fixed = kvm_fixed_counters();
	int i;

	pr_info("Host: PMU version %u, fixed counters 0x%lx; KVM: version %u, EDX[4:0] %u, ECX 0x%x\n",
		host_version, host_fixed, kvm_version, nr_fixed, bitmap);

	TEST_ASSERT(kvm_version == expected_version,
		    "KVM reports PMU version %u on a v%u host, expected %u",
		    kvm_version, host_version, expected_version);
	TEST_ASSERT(kvm_cpu_has(X86_FEATURE_PMU_ANYTHREAD_DEPRECATED),
		    "KVM doesn't report AnyThread as deprecated (CPUID.0xA.EDX[15])");

	TEST_ASSERT(!(kvm_fixed & ~host_fixed),
		    "KVM reports fixed counters 0x%lx, the host has 0x%lx",
		    kvm_fixed, host_fixed);
	TEST_ASSERT((kvm_fixed & ARCH_FIXED_COUNTERS) == (host_fixed & ARCH_FIXED_COUNTERS),
		    "KVM reports fixed counters 0x%lx, the host has 0x%lx, expected all of 0x%llx",
		    kvm_fixed, host_fixed, ARCH_FIXED_COUNTERS);

	if (kvm_version >= 5) {
		/* KVM's limit is a count: a host counter below a reported one is reported. */
		u64 below = bitmap ? GENMASK_ULL(63 - __builtin_clzll(bitmap), 0) : 0;

		TEST_ASSERT(bitmap == (host_fixed & below),
			    "KVM reports ECX 0x%x, expected the host's 0x%lx up to its highest counter",
			    bitmap, host_fixed);
		TEST_ASSERT(nr_fixed == __builtin_ctzll(~(u64)bitmap),
			    "KVM reports EDX[4:0] = %u, expected the counters up to the first hole of 0x%x",
			    nr_fixed, bitmap);
	} else {
		TEST_ASSERT(!bitmap, "KVM reports ECX 0x%x for PMU version %u",
			    bitmap, kvm_version);
	}

	/* KVM saves and restores exactly the fixed counters it supports. */
	for (i = 0; i < NR_FIXED_COUNTER_MSRS; i++)
		TEST_ASSERT(kvm_msr_is_in_save_restore_list(MSR_CORE_PERF_FIXED_CTR0 + i) ==
			    !!(kvm_fixed & BIT_ULL(i)),
			    "Fixed counter %d %s the MSRs to save, KVM's fixed counters 0x%lx",
			    i, kvm_fixed & BIT_ULL(i) ? "missing from" : "in", kvm_fixed);
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
	guest_fixed = fixed_counters_mask(effective, nr_fixed, bitmap) &
		      kvm_fixed_counters();
	status_reset_passthrough = kvm_is_mediated_pmu_enabled() &&
		kvm_cpu_property(X86_PROPERTY_PMU_NR_GP_COUNTERS) ==
		this_cpu_property(X86_PROPERTY_PMU_NR_GP_COUNTERS) &&
		guest_fixed == host_fixed_counters();

	pr_info("PMU version %u (effective %u), EDX[4:0] = %u, ECX = 0x%x%s: fixed counters 0x%lx\n",
		version, effective, nr_fixed, bitmap,
		no_anythread_deprecation ? ", EDX[15] = 0" : "", guest_fixed);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vcpu_set_cpuid_property(vcpu, X86_PROPERTY_PMU_VERSION, version);
	vcpu_set_cpuid_property(vcpu, X86_PROPERTY_PMU_NR_FIXED_COUNTERS, nr_fixed);
	vcpu_set_cpuid_property(vcpu, X86_PROPERTY_PMU_FIXED_COUNTERS_BITMASK, bitmap);
	if (no_anythread_deprecation)
		vcpu_clear_cpuid_feature(vcpu, X86_FEATURE_PMU_ANYTHREAD_DEPRECATED);

	sync_global_to_guest(vm, counting);
	sync_global_to_guest(vm, guest_version);
	sync_global_to_guest(vm, guest_anythread_dropped);
	sync_global_to_guest(vm, guest_fixed);
	sync_global_to_guest(vm, ignore_msrs);
	sync_global_to_guest(vm, status_reset_passthrough);

	run_vcpu(vcpu);
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

/* Fixed counter 0 counts instructions emulated by KVM, where it exists. */
TEST(fixed0_counts_fep)
{
	if (!is_forced_emulation_enabled)
		SKIP(return, "Forced emulation prefix disabled (kvm.force_emulation_prefix=0)");
	if (kvm_cpu_property(X86_PROPERTY_PMU_VERSION) < 5)
		SKIP(return, NO_V5, kvm_cpu_property(X86_PROPERTY_PMU_VERSION));
	test_configs(COUNT_FIXED0_FEP);
}

/* All the fixed counters that exist count, in hardware. */
TEST(all_count_hw)
{
	if (kvm_cpu_property(X86_PROPERTY_PMU_VERSION) < 5)
		SKIP(return, NO_V5, kvm_cpu_property(X86_PROPERTY_PMU_VERSION));
	test_configs(COUNT_HW);
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
