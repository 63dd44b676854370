// SPDX-License-Identifier: GPL-2.0-only
/*
 * Measure, in the guest and with the guest's TSC, what the PerfMon v4 global
 * MSRs and a PMI cost: cycles per RDMSR/WRMSR of GLOBAL_STATUS_RESET (0x390),
 * GLOBAL_STATUS_SET (0x391) and GLOBAL_INUSE (0x392), and per PMI round trip
 * (a counter overflow until the PMI handler runs).  CPUID, which always exits,
 * and GLOBAL_CTRL (0x38f), which the mediated vPMU may pass through, are the
 * references: an access that costs about as much as CPUID is intercepted.
 *
 * The results are printed as "bench: <label> <cycles> cycles" lines (guest TSC
 * cycles), for the vPMU flavour KVM was loaded with.  An MSR access that #GPs
 * is reported as such instead: with the mediated vPMU, accesses that KVM passes
 * through go to hardware.  The test fails only if an access that KVM always
 * intercepts faults or a PMI doesn't arrive; the figures are informational.
 *
 * A tool of the hardware kit (scripts/hw-kit/hw-test.sh), not part of the series:
 * scripts/lib.sh's build_selftests builds it with the patched tree's KVM
 * selftests library (scripts/hw-kit/hw-bench/bench.mk), next to the selftests.
 * That every access of STATUS_SET and INUSE exits is asserted by the series'
 * pmu_global_msrs_test (global.v4_msrs_intercepted), not here.
 */
#include "apic.h"
#include "pmu.h"
#include "processor.h"

#define NR_ACCESSES			1000
#define NR_PMIS				100

/* Instructions from enabling the counter until it overflows. */
#define NR_INSNS_TO_OVERFLOW		100

/* Iterations of the wait for a PMI before declaring it lost. */
#define PMI_TIMEOUT_LOOPS		100000000ull

enum {
	BENCH_CPUID,
	BENCH_RDMSR_GLOBAL_CTRL,
	BENCH_RDMSR_STATUS_RESET,
	BENCH_WRMSR_STATUS_RESET,
	BENCH_RDMSR_STATUS_SET,
	BENCH_WRMSR_STATUS_SET,
	BENCH_RDMSR_INUSE,
	BENCH_PMI_ROUND_TRIP,
	NR_BENCHES,
};

static const char * const bench_labels[NR_BENCHES] = {
	[BENCH_CPUID]			= "cpuid",
	[BENCH_RDMSR_GLOBAL_CTRL]	= "rdmsr_0x38f",
	[BENCH_RDMSR_STATUS_RESET]	= "rdmsr_0x390",
	[BENCH_WRMSR_STATUS_RESET]	= "wrmsr_0x390",
	[BENCH_RDMSR_STATUS_SET]	= "rdmsr_0x391",
	[BENCH_WRMSR_STATUS_SET]	= "wrmsr_0x391",
	[BENCH_RDMSR_INUSE]		= "rdmsr_0x392",
	[BENCH_PMI_ROUND_TRIP]		= "pmi_round_trip",
};

/* A result for an access that faulted (hardware may #GP when passed through). */
#define BENCH_FAULTED			(~0ull)

/* TSC cycles per operation, written by the guest, read by the host. */
static u64 results[NR_BENCHES];

static u64 nr_pmis;

static void guest_pmi_handler(struct ex_regs *regs)
{
	WRITE_ONCE(nr_pmis, nr_pmis + 1);
	x2apic_write_reg(APIC_EOI, 0);
}

static u64 guest_rdmsr_cost(u32 msr)
{
	u64 t0, t1, val;
	int i;

	if (rdmsr_safe(msr, &val))
		return BENCH_FAULTED;

	t0 = rdtsc();
	for (i = 0; i < NR_ACCESSES; i++)
		rdmsr(msr);
	t1 = rdtsc();
	return (t1 - t0) / NR_ACCESSES;
}

static u64 guest_wrmsr_cost(u32 msr, u64 val)
{
	u64 t0, t1;
	int i;

	if (wrmsr_safe(msr, val))
		return BENCH_FAULTED;

	t0 = rdtsc();
	for (i = 0; i < NR_ACCESSES; i++)
		wrmsr(msr, val);
	t1 = rdtsc();
	return (t1 - t0) / NR_ACCESSES;
}

static u64 guest_cpuid_cost(void)
{
	u32 eax, ebx, ecx, edx;
	u64 t0, t1;
	int i;

	t0 = rdtsc();
	for (i = 0; i < NR_ACCESSES; i++)
		cpuid(0, &eax, &ebx, &ecx, &edx);
	t1 = rdtsc();
	return (t1 - t0) / NR_ACCESSES;
}

/*
 * A PMI round trip: arm GP counter 0 to overflow after a few instructions,
 * with a PMI, and wait for the handler.  LVTPC is masked on delivery and is
 * re-armed for every PMI, as a guest's PMI handler does.
 */
static u64 guest_pmi_cost(void)
{
	u64 eventsel = INTEL_ARCH_INSTRUCTIONS_RETIRED | ARCH_PERFMON_EVENTSEL_OS |
		       ARCH_PERFMON_EVENTSEL_INT | ARCH_PERFMON_EVENTSEL_ENABLE;
	u64 total = 0, t0, t1, loops;
	int i;

	wrmsr(MSR_CORE_PERF_GLOBAL_CTRL, 0);
	wrmsr(MSR_P6_EVNTSEL0, eventsel);

	for (i = 0; i < NR_PMIS; i++) {
		u64 before = READ_ONCE(nr_pmis);

		x2apic_write_reg(APIC_LVTPC, PMI_VECTOR);
		/* PERFCTR0 writes sign-extend bit 31. */
		wrmsr(MSR_IA32_PERFCTR0, -(u32)NR_INSNS_TO_OVERFLOW);

		t0 = rdtsc();
		wrmsr(MSR_CORE_PERF_GLOBAL_CTRL, BIT_ULL(0));
		for (loops = 0; READ_ONCE(nr_pmis) == before; loops++)
			__GUEST_ASSERT(loops < PMI_TIMEOUT_LOOPS,
				       "No PMI after %llu loops (PMI %d)",
				       PMI_TIMEOUT_LOOPS, i);
		t1 = rdtsc();

		wrmsr(MSR_CORE_PERF_GLOBAL_CTRL, 0);
		/* The PMI must have come from counter 0's overflow. */
		__GUEST_ASSERT(rdmsr(MSR_CORE_PERF_GLOBAL_STATUS) & BIT_ULL(0),
			       "PMI %d without counter 0 overflow, GLOBAL_STATUS = 0x%lx",
			       i, rdmsr(MSR_CORE_PERF_GLOBAL_STATUS));
		wrmsr(MSR_CORE_PERF_GLOBAL_OVF_CTRL, BIT_ULL(0));
		total += t1 - t0;
	}

	wrmsr(MSR_P6_EVNTSEL0, 0);
	return total / NR_PMIS;
}

static void guest_code(void)
{
	x2apic_enable();
	sti_nop();

	results[BENCH_CPUID] = guest_cpuid_cost();
	results[BENCH_RDMSR_GLOBAL_CTRL] = guest_rdmsr_cost(MSR_CORE_PERF_GLOBAL_CTRL);
	results[BENCH_RDMSR_STATUS_RESET] = guest_rdmsr_cost(MSR_CORE_PERF_GLOBAL_OVF_CTRL);
	results[BENCH_WRMSR_STATUS_RESET] = guest_wrmsr_cost(MSR_CORE_PERF_GLOBAL_OVF_CTRL, 0);
	results[BENCH_RDMSR_STATUS_SET] = guest_rdmsr_cost(MSR_CORE_PERF_GLOBAL_STATUS_SET);
	results[BENCH_WRMSR_STATUS_SET] = guest_wrmsr_cost(MSR_CORE_PERF_GLOBAL_STATUS_SET, 0);
	results[BENCH_RDMSR_INUSE] = guest_rdmsr_cost(MSR_CORE_PERF_GLOBAL_INUSE);
	results[BENCH_PMI_ROUND_TRIP] = guest_pmi_cost();

	/* KVM always intercepts and emulates STATUS_SET and INUSE. */
	GUEST_ASSERT(results[BENCH_RDMSR_STATUS_SET] != BENCH_FAULTED);
	GUEST_ASSERT(results[BENCH_WRMSR_STATUS_SET] != BENCH_FAULTED);
	GUEST_ASSERT(results[BENCH_RDMSR_INUSE] != BENCH_FAULTED);

	cli();
	GUEST_DONE();
}

int main(int argc, char *argv[])
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int i;

	TEST_REQUIRE(kvm_is_pmu_enabled());
	TEST_REQUIRE(host_cpu_is_intel);
	__TEST_REQUIRE(kvm_cpu_property(X86_PROPERTY_PMU_VERSION) >= 4,
		       "GLOBAL_STATUS_SET and GLOBAL_INUSE need PMU version 4+, KVM reports %u",
		       kvm_cpu_property(X86_PROPERTY_PMU_VERSION));
	TEST_REQUIRE(kvm_cpu_property(X86_PROPERTY_PMU_NR_GP_COUNTERS));

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vm_install_exception_handler(vm, PMI_VECTOR, guest_pmi_handler);

	pmu_run_vcpu_to_done(vcpu);

	sync_global_from_guest(vm, results);
	printf("vPMU: %s, PMU version %u, guest TSC cycles per operation:\n",
	       kvm_is_mediated_pmu_enabled() ? "mediated" : "perf-based",
	       kvm_cpu_property(X86_PROPERTY_PMU_VERSION));
	for (i = 0; i < NR_BENCHES; i++) {
		TEST_ASSERT(results[i], "No result for %s", bench_labels[i]);
		if (results[i] == BENCH_FAULTED)
			printf("%s: #GP, i.e. passed through to hardware, which faults\n",
			       bench_labels[i]);
		else
			printf("bench: %s %lu cycles\n", bench_labels[i], results[i]);
	}

	kvm_vm_free(vm);
	return 0;
}
