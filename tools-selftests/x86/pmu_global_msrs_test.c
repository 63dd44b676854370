// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test the global PMU MSRs that architectural PerfMon v4 adds or extends:
 * IA32_PERF_GLOBAL_STATUS_RESET (a.k.a. GLOBAL_OVF_CTRL), GLOBAL_STATUS_SET
 * and GLOBAL_INUSE, for guest PMU versions 1 through 6 (KVM emulates v5 for
 * v5+, v2 for v2 to v4, and the v4 MSRs exist only for v5).  The guest verifies
 * valid and reserved bits (#GP), STATUS_SET => STATUS => STATUS_RESET round
 * trips, that STATUS_SET doesn't generate PMIs, and how INUSE is derived from
 * the PMU controls.  The host verifies that KVM_GET_MSRS and KVM_SET_MSRS
 * round trip, in any order, without changing guest state.
 */
#include "apic.h"
#include "kselftest_harness.h"
#include "pmu.h"
#include "processor.h"

/* Whether or not the vCPU has LBRs, i.e. can have LBR_Frz; set by the host. */
static bool guest_has_lbrs;

/* The PMU version KVM reports, i.e. the highest version a vCPU gets. */
static u8 kvm_pmu_version;

/*
 * With kvm.ignore_msrs=1, KVM doesn't fault accesses to MSRs the vCPU doesn't
 * have, e.g. to STATUS_SET and INUSE for v1-v3 vCPUs; skip those checks then.
 */
static bool ignore_msrs;

/*
 * The mediated vPMU passes GLOBAL_STATUS_RESET through to the guest if the
 * vCPU has the same counters as the host (per perf).  Hardware then decides
 * which bits #GP, and hardware accepts bits that KVM reserves for the vCPU,
 * e.g. LBR_Frz for a vCPU without LBRs.  Measured per vCPU configuration.
 */
static bool status_reset_passthrough;

/* The vCPU's effective PMU version, i.e. the version KVM emulates. */
static u8 guest_pmu_version(void)
{
	return kvm_intel_pmu_emulated_version(this_cpu_property(X86_PROPERTY_PMU_VERSION),
					      kvm_pmu_version);
}

/* GLOBAL_STATUS as userspace restored it before the guest runs. */
static u64 initial_status;

static u64 nr_pmis;

static void guest_pmi_handler(struct ex_regs *regs)
{
	WRITE_ONCE(nr_pmis, nr_pmis + 1);
	x2apic_write_reg(APIC_EOI, 0);
}

static void guest_assert_inuse(u64 expected)
{
	u64 inuse = rdmsr(MSR_CORE_PERF_GLOBAL_INUSE);

	__GUEST_ASSERT(inuse == expected,
		       "Expected GLOBAL_INUSE 0x%lx, got 0x%lx", expected, inuse);
}

/*
 * The counters the vCPU has, in the layout of GLOBAL_CTRL, per the version
 * KVM emulates: the fixed counter bitmap exists only for PerfMon v5+.
 */
static u64 guest_counters_mask(u8 version)
{
	u8 nr_gp = this_cpu_property(X86_PROPERTY_PMU_NR_GP_COUNTERS);
	u64 fixed = pmu_fixed_counters_mask(version,
					this_cpu_property(X86_PROPERTY_PMU_NR_FIXED_COUNTERS),
					this_cpu_property(X86_PROPERTY_PMU_FIXED_COUNTERS_BITMASK));

	return (BIT_ULL(nr_gp) - 1) | (fixed << 32);
}

/* Without PerfMon v2, none of the global MSRs exist. */
static void guest_test_v1(void)
{
	const u32 msrs[] = {
		MSR_CORE_PERF_GLOBAL_STATUS, MSR_CORE_PERF_GLOBAL_OVF_CTRL,
		MSR_CORE_PERF_GLOBAL_STATUS_SET, MSR_CORE_PERF_GLOBAL_INUSE,
	};
	u8 vector;
	u64 val;
	int i;

	if (ignore_msrs)
		return;

	for (i = 0; i < ARRAY_SIZE(msrs); i++) {
		vector = rdmsr_safe(msrs[i], &val);
		GUEST_ASSERT_PMC_MSR_ACCESS(RDMSR, msrs[i], true, vector);
		vector = wrmsr_safe(msrs[i], 0);
		GUEST_ASSERT_PMC_MSR_WRITE(WRMSR, msrs[i], 0, true, vector);
	}
}

/* GLOBAL_STATUS is read-only; GLOBAL_STATUS_RESET takes the valid bits. */
static void guest_test_status_reset(u64 valid)
{
	u64 bit, status;
	u8 vector;

	/*
	 * The status restored by userspace is visible.  CondChgd can't be
	 * loaded into hardware (by the mediated vPMU), ignore it.
	 */
	status = rdmsr(MSR_CORE_PERF_GLOBAL_STATUS);
	GUEST_ASSERT_EQ(status & ~GLOBAL_STATUS_COND_CHGD,
			initial_status & ~GLOBAL_STATUS_COND_CHGD);
	wrmsr(MSR_CORE_PERF_GLOBAL_OVF_CTRL, status);
	GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_STATUS), 0);

	vector = wrmsr_safe(MSR_CORE_PERF_GLOBAL_STATUS, 0);
	GUEST_ASSERT_PMC_MSR_WRITE(WRMSR, MSR_CORE_PERF_GLOBAL_STATUS, 0, true, vector);

	for (bit = 0; bit < 64; bit++) {
		/* Trace_ToPA_PMI depends on how Intel PT is virtualized. */
		if (BIT_ULL(bit) == GLOBAL_STATUS_TRACE_TOPA_PMI)
			continue;

		if (!(valid & BIT_ULL(bit)) && status_reset_passthrough)
			continue;

		vector = wrmsr_safe(MSR_CORE_PERF_GLOBAL_OVF_CTRL, BIT_ULL(bit));
		GUEST_ASSERT_PMC_MSR_WRITE(WRMSR, MSR_CORE_PERF_GLOBAL_OVF_CTRL,
					   BIT_ULL(bit), !(valid & BIT_ULL(bit)), vector);
	}
	/* KVM's STATUS_RESET reads 0; a passed-through one reads hardware's. */
	if (!status_reset_passthrough)
		GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_OVF_CTRL), 0);
	GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_STATUS), 0);
}

static void guest_test_status_set(u8 version, u64 valid)
{
	u64 bit, status, val;
	u8 vector;

	if (version < 4) {
		if (ignore_msrs)
			return;

		vector = rdmsr_safe(MSR_CORE_PERF_GLOBAL_STATUS_SET, &val);
		GUEST_ASSERT_PMC_MSR_ACCESS(RDMSR, MSR_CORE_PERF_GLOBAL_STATUS_SET, true, vector);
		vector = wrmsr_safe(MSR_CORE_PERF_GLOBAL_STATUS_SET, 0);
		GUEST_ASSERT_PMC_MSR_WRITE(WRMSR, MSR_CORE_PERF_GLOBAL_STATUS_SET, 0, true, vector);
		return;
	}

	/* CondChgd can't be set by software. */
	valid &= ~GLOBAL_STATUS_COND_CHGD;

	for (bit = 0; bit < 64; bit++) {
		if (BIT_ULL(bit) == GLOBAL_STATUS_TRACE_TOPA_PMI)
			continue;

		vector = wrmsr_safe(MSR_CORE_PERF_GLOBAL_STATUS_SET, BIT_ULL(bit));
		GUEST_ASSERT_PMC_MSR_WRITE(WRMSR, MSR_CORE_PERF_GLOBAL_STATUS_SET,
					   BIT_ULL(bit), !(valid & BIT_ULL(bit)), vector);
		if (vector)
			continue;

		GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_STATUS), BIT_ULL(bit));
		GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_STATUS_SET), 0);
		wrmsr(MSR_CORE_PERF_GLOBAL_OVF_CTRL, BIT_ULL(bit));
		GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_STATUS), 0);
	}

	/* STATUS_SET ORs bits into the status, STATUS_RESET clears them. */
	wrmsr(MSR_CORE_PERF_GLOBAL_STATUS_SET, BIT_ULL(0));
	wrmsr(MSR_CORE_PERF_GLOBAL_STATUS_SET, GLOBAL_STATUS_BUFFER_OVF);
	GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_STATUS),
			BIT_ULL(0) | GLOBAL_STATUS_BUFFER_OVF);
	wrmsr(MSR_CORE_PERF_GLOBAL_STATUS_SET, valid);
	status = rdmsr(MSR_CORE_PERF_GLOBAL_STATUS);
	GUEST_ASSERT_EQ(status, valid);
	wrmsr(MSR_CORE_PERF_GLOBAL_OVF_CTRL, status & ~BIT_ULL(0));
	GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_STATUS), BIT_ULL(0));
	wrmsr(MSR_CORE_PERF_GLOBAL_OVF_CTRL, BIT_ULL(0));
	GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_STATUS), 0);
}

static bool guest_has_pebs(void)
{
	return this_cpu_has(X86_FEATURE_PDCM) && this_cpu_has(X86_FEATURE_DS) &&
	       (rdmsr(MSR_IA32_PERF_CAPABILITIES) & PMU_CAP_PEBS_FORMAT);
}

static void guest_test_inuse(u8 version, u64 counters)
{
	u64 pmi = MSR_CORE_PERF_GLOBAL_INUSE_PMI;
	u64 val, all = 0;
	u8 vector;
	int i;

	if (version < 4) {
		if (ignore_msrs)
			return;

		vector = rdmsr_safe(MSR_CORE_PERF_GLOBAL_INUSE, &val);
		GUEST_ASSERT_PMC_MSR_ACCESS(RDMSR, MSR_CORE_PERF_GLOBAL_INUSE, true, vector);
		vector = wrmsr_safe(MSR_CORE_PERF_GLOBAL_INUSE, 0);
		GUEST_ASSERT_PMC_MSR_WRITE(WRMSR, MSR_CORE_PERF_GLOBAL_INUSE, 0, true, vector);
		return;
	}

	/* INUSE is read-only. */
	guest_assert_inuse(0);
	vector = wrmsr_safe(MSR_CORE_PERF_GLOBAL_INUSE, 0);
	GUEST_ASSERT_PMC_MSR_WRITE(WRMSR, MSR_CORE_PERF_GLOBAL_INUSE, 0, true, vector);
	vector = wrmsr_safe(MSR_CORE_PERF_GLOBAL_INUSE, pmi);
	GUEST_ASSERT_PMC_MSR_WRITE(WRMSR, MSR_CORE_PERF_GLOBAL_INUSE, pmi, true, vector);

	/* INUSE doesn't depend on GLOBAL_CTRL, keep all counters disabled. */
	wrmsr(MSR_CORE_PERF_GLOBAL_CTRL, 0);

	for (i = 0; i < 32; i++) {
		u32 msr = MSR_P6_EVNTSEL0 + i;

		if (!(counters & BIT_ULL(i)))
			continue;

		/* In use if and only if the event select, EVTSEL[7:0], is non-zero. */
		wrmsr(msr, INTEL_ARCH_CPU_CYCLES);
		guest_assert_inuse(BIT_ULL(i));
		wrmsr(msr, ARCH_PERFMON_EVENTSEL_ENABLE | ARCH_PERFMON_EVENTSEL_OS |
			   ARCH_PERFMON_EVENTSEL_UMASK);
		guest_assert_inuse(0);
		wrmsr(msr, ARCH_PERFMON_EVENTSEL_INT);
		guest_assert_inuse(pmi);
		wrmsr(msr, INTEL_ARCH_CPU_CYCLES | ARCH_PERFMON_EVENTSEL_INT |
			   ARCH_PERFMON_EVENTSEL_ENABLE | ARCH_PERFMON_EVENTSEL_OS);
		guest_assert_inuse(BIT_ULL(i) | pmi);
		wrmsr(msr, 0);
		guest_assert_inuse(0);
	}

	for (i = 0; i < 32; i++) {
		if (!(counters & BIT_ULL(32 + i)))
			continue;

		/*
		 * In use if and only if the enable field, bits 1:0, is non-zero,
		 * even if the PMU event filter denies the counter.
		 */
		wrmsr(MSR_CORE_PERF_FIXED_CTR_CTRL, FIXED_PMC_CTRL(i, FIXED_PMC_KERNEL));
		guest_assert_inuse(BIT_ULL(32 + i));
		wrmsr(MSR_CORE_PERF_FIXED_CTR_CTRL, FIXED_PMC_CTRL(i, FIXED_PMC_USER));
		guest_assert_inuse(BIT_ULL(32 + i));
		wrmsr(MSR_CORE_PERF_FIXED_CTR_CTRL, FIXED_PMC_CTRL(i, FIXED_PMC_ENABLE_PMI));
		guest_assert_inuse(pmi);
		wrmsr(MSR_CORE_PERF_FIXED_CTR_CTRL, 0);
		guest_assert_inuse(0);
	}

	/* Everything at once: every counter the vCPU has, nothing else. */
	for (i = 0; i < 32; i++) {
		if (counters & BIT_ULL(i))
			wrmsr(MSR_P6_EVNTSEL0 + i, INTEL_ARCH_CPU_CYCLES);
		if (counters & BIT_ULL(32 + i))
			all |= FIXED_PMC_CTRL(i, FIXED_PMC_KERNEL);
	}
	wrmsr(MSR_CORE_PERF_FIXED_CTR_CTRL, all);
	guest_assert_inuse(counters);
	wrmsr(MSR_CORE_PERF_FIXED_CTR_CTRL, 0);
	for (i = 0; i < 32; i++) {
		if (counters & BIT_ULL(i))
			wrmsr(MSR_P6_EVNTSEL0 + i, 0);
	}
	guest_assert_inuse(0);

	/* A PEBS enable bit makes PMI_InUse set, too. */
	if (guest_has_pebs() && (counters & BIT_ULL(0))) {
		wrmsr(MSR_IA32_PEBS_ENABLE, BIT_ULL(0));
		guest_assert_inuse(pmi);
		wrmsr(MSR_IA32_PEBS_ENABLE, 0);
		guest_assert_inuse(0);
	}
}

static void guest_code(void)
{
	u8 version = guest_pmu_version();
	u64 counters = guest_counters_mask(version);
	u64 valid = counters | GLOBAL_STATUS_BUFFER_OVF | GLOBAL_STATUS_COND_CHGD;

	if (version < 2) {
		guest_test_v1();
		GUEST_DONE();
	}

	if (version >= 4) {
		valid |= GLOBAL_STATUS_COUNTERS_FROZEN;
		if (guest_has_lbrs)
			valid |= GLOBAL_STATUS_LBRS_FROZEN;
	}

	/* Any PMI, e.g. from a write to STATUS_SET, is a failure. */
	x2apic_enable();
	x2apic_write_reg(APIC_LVTPC, PMI_VECTOR);
	sti_nop();

	guest_test_status_reset(valid);
	guest_test_status_set(version, valid);
	guest_test_inuse(version, counters);

	cli();
	GUEST_ASSERT_EQ(READ_ONCE(nr_pmis), 0);
	GUEST_DONE();
}

/* Returns the number of MSRs read, i.e. 1 on success. */
static int get_msr_raw(struct kvm_vcpu *vcpu, u32 msr, u64 *val)
{
	struct {
		struct kvm_msrs header;
		struct kvm_msr_entry entry;
	} buffer = {};
	int r;

	buffer.header.nmsrs = 1;
	buffer.entry.index = msr;
	r = __vcpu_ioctl(vcpu, KVM_GET_MSRS, &buffer.header);
	*val = buffer.entry.data;
	return r;
}

static void assert_host_write(struct kvm_vcpu *vcpu, u32 msr, u64 val,
			      bool expect_ok)
{
	TEST_ASSERT(_vcpu_set_msr(vcpu, msr, val) == expect_ok,
		    "Expected KVM_SET_MSRS(0x%x, 0x%lx) to %s", msr, val,
		    expect_ok ? "succeed" : "fail");
}

static struct kvm_vcpu *create_vcpu(struct kvm_vm **vm, u8 version,
				    u64 perf_caps)
{
	struct kvm_vcpu *vcpu;

	*vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vm_install_exception_handler(*vm, PMI_VECTOR, guest_pmi_handler);

	/* PERF_CAPABILITIES must be set before the PMU version. */
	if (kvm_cpu_has(X86_FEATURE_PDCM))
		vcpu_set_msr(vcpu, MSR_IA32_PERF_CAPABILITIES, perf_caps);
	vcpu_set_cpuid_property(vcpu, X86_PROPERTY_PMU_VERSION, version);
	return vcpu;
}

/*
 * PMU MSRs as userspace saves and restores them.  The order is deliberately
 * "wrong", i.e. the derived and write-only MSRs come before the state they
 * depend on or modify.
 */
static const u32 save_restore_msrs[] = {
	MSR_CORE_PERF_GLOBAL_INUSE,
	MSR_CORE_PERF_GLOBAL_STATUS_SET,
	MSR_CORE_PERF_GLOBAL_OVF_CTRL,
	MSR_CORE_PERF_GLOBAL_STATUS,
	MSR_P6_EVNTSEL0,
	MSR_CORE_PERF_FIXED_CTR_CTRL,
	MSR_CORE_PERF_GLOBAL_CTRL,
};

static void test_host_v4_msrs(struct kvm_vcpu *vcpu, u8 version, u64 perf_caps)
{
	u8 nr_fixed = kvm_cpu_property(X86_PROPERTY_PMU_NR_FIXED_COUNTERS);
	u64 pmi = MSR_CORE_PERF_GLOBAL_INUSE_PMI;
	u64 status, inuse, vals[ARRAY_SIZE(save_restore_msrs)];
	struct kvm_vcpu *dst;
	struct kvm_vm *vm;
	int i;

	status = BIT_ULL(0) | GLOBAL_STATUS_BUFFER_OVF;
	vcpu_set_msr(vcpu, MSR_CORE_PERF_GLOBAL_STATUS, status);
	vcpu_set_msr(vcpu, MSR_P6_EVNTSEL0, INTEL_ARCH_CPU_CYCLES | ARCH_PERFMON_EVENTSEL_INT);
	inuse = BIT_ULL(0) | pmi;
	if (nr_fixed) {
		vcpu_set_msr(vcpu, MSR_CORE_PERF_FIXED_CTR_CTRL,
			     FIXED_PMC_CTRL(0, FIXED_PMC_KERNEL));
		inuse |= BIT_ULL(32);
	}

	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_CORE_PERF_GLOBAL_INUSE), inuse);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_CORE_PERF_GLOBAL_STATUS_SET), 0);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_CORE_PERF_GLOBAL_OVF_CTRL), 0);

	/* Host writes are accepted and change nothing. */
	assert_host_write(vcpu, MSR_CORE_PERF_GLOBAL_STATUS_SET, 0, true);
	assert_host_write(vcpu, MSR_CORE_PERF_GLOBAL_STATUS_SET, BIT_ULL(0), true);
	assert_host_write(vcpu, MSR_CORE_PERF_GLOBAL_STATUS_SET,
			  GLOBAL_STATUS_COUNTERS_FROZEN, true);
	assert_host_write(vcpu, MSR_CORE_PERF_GLOBAL_OVF_CTRL, status, true);
	assert_host_write(vcpu, MSR_CORE_PERF_GLOBAL_INUSE, 0, true);
	assert_host_write(vcpu, MSR_CORE_PERF_GLOBAL_INUSE, inuse, true);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_CORE_PERF_GLOBAL_STATUS), status);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_CORE_PERF_GLOBAL_INUSE), inuse);

	/* ... but reserved bits are still rejected. */
	assert_host_write(vcpu, MSR_CORE_PERF_GLOBAL_STATUS_SET,
			  GLOBAL_STATUS_COND_CHGD, false);
	assert_host_write(vcpu, MSR_CORE_PERF_GLOBAL_STATUS_SET, BIT_ULL(61), false);
	assert_host_write(vcpu, MSR_CORE_PERF_GLOBAL_OVF_CTRL, BIT_ULL(61), false);
	assert_host_write(vcpu, MSR_CORE_PERF_GLOBAL_INUSE, BIT_ULL(61), false);

	/* Save, then restore into a new vCPU in the "wrong" order. */
	for (i = 0; i < ARRAY_SIZE(save_restore_msrs); i++)
		vals[i] = vcpu_get_msr(vcpu, save_restore_msrs[i]);

	dst = create_vcpu(&vm, version, perf_caps);
	for (i = 0; i < ARRAY_SIZE(save_restore_msrs); i++)
		assert_host_write(dst, save_restore_msrs[i], vals[i], true);

	TEST_ASSERT_EQ(vcpu_get_msr(dst, MSR_CORE_PERF_GLOBAL_STATUS), status);
	TEST_ASSERT_EQ(vcpu_get_msr(dst, MSR_CORE_PERF_GLOBAL_INUSE), inuse);
	kvm_vm_free(vm);

	/* Restoring without STATUS_SET and INUSE, as QEMU does, works too. */
	dst = create_vcpu(&vm, version, perf_caps);
	for (i = 2; i < ARRAY_SIZE(save_restore_msrs); i++)
		assert_host_write(dst, save_restore_msrs[i], vals[i], true);

	TEST_ASSERT_EQ(vcpu_get_msr(dst, MSR_CORE_PERF_GLOBAL_STATUS), status);
	TEST_ASSERT_EQ(vcpu_get_msr(dst, MSR_CORE_PERF_GLOBAL_INUSE), inuse);
	kvm_vm_free(vm);
}

static void test_host_access(struct kvm_vcpu *vcpu, u8 cpuid_version,
			     u8 version, u64 perf_caps)
{
	u32 msrs[] = { MSR_CORE_PERF_GLOBAL_STATUS_SET, MSR_CORE_PERF_GLOBAL_INUSE };
	bool listed;
	u64 val;
	int i;

	/* Userspace can restore CTR_Frz for v4+, and LBR_Frz with LBRs. */
	if (version >= 2) {
		assert_host_write(vcpu, MSR_CORE_PERF_GLOBAL_STATUS,
				  GLOBAL_STATUS_COUNTERS_FROZEN, version >= 4);
		assert_host_write(vcpu, MSR_CORE_PERF_GLOBAL_STATUS,
				  GLOBAL_STATUS_LBRS_FROZEN,
				  version >= 4 && (perf_caps & PMU_CAP_LBR_FMT));
		vcpu_set_msr(vcpu, MSR_CORE_PERF_GLOBAL_STATUS, 0);
	}

	for (i = 0; i < ARRAY_SIZE(msrs); i++) {
		/* KVM reports the MSRs to save if and only if it supports v4+. */
		listed = kvm_msr_is_in_save_restore_list(msrs[i]);
		TEST_ASSERT(listed == (kvm_cpu_property(X86_PROPERTY_PMU_VERSION) >= 4),
			    "MSR 0x%x %s KVM_GET_MSR_INDEX_LIST, KVM's PMU version is %u",
			    msrs[i], listed ? "in" : "not in",
			    kvm_cpu_property(X86_PROPERTY_PMU_VERSION));

		if (version >= 4)
			continue;

		/*
		 * For v1-v3 vCPUs the MSRs don't exist; KVM lets userspace read
		 * '0' from and write '0' to the MSRs that it reports, only.
		 */
		if (ignore_msrs)
			continue;

		TEST_ASSERT_EQ(get_msr_raw(vcpu, msrs[i], &val), listed);
		TEST_ASSERT_EQ(val, 0);
		assert_host_write(vcpu, msrs[i], 0, listed);
		assert_host_write(vcpu, msrs[i], BIT_ULL(0), false);
	}

	if (version >= 4)
		test_host_v4_msrs(vcpu, cpuid_version, perf_caps);
}

static void test_pmu_version(u8 version, u64 perf_caps, bool deny_fixed0)
{
	struct kvm_pmu_event_filter filter = {
		.action = KVM_PMU_EVENT_DENY,
		.fixed_counter_bitmap = BIT(0),
	};
	u8 effective = kvm_intel_pmu_emulated_version(version, kvm_pmu_version);
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	pr_info("Testing PMU version %u (effective %u), PERF_CAPABILITIES = 0x%lx%s\n",
		version, effective, perf_caps,
		deny_fixed0 ? ", fixed counter 0 denied" : "");

	vcpu = create_vcpu(&vm, version, perf_caps);

	/* KVM gives the vCPU LBRs if and only if it has an LBR format. */
	guest_has_lbrs = perf_caps & PMU_CAP_LBR_FMT;

	/* Whether KVM passes GLOBAL_STATUS_RESET through (v2+ only). */
	status_reset_passthrough = effective >= 2 &&
		!kvm_pmu_msr_write_exits(vcpu, MSR_CORE_PERF_GLOBAL_OVF_CTRL, 0);

	sync_global_to_guest(vm, kvm_pmu_version);
	sync_global_to_guest(vm, guest_has_lbrs);
	sync_global_to_guest(vm, ignore_msrs);
	sync_global_to_guest(vm, status_reset_passthrough);

	/*
	 * Restore a status with a counter overflow and CondChgd, which can't
	 * be set via GLOBAL_STATUS_SET, i.e. can't be loaded into hardware as
	 * is by the mediated vPMU.
	 */
	initial_status = 0;
	if (effective >= 2) {
		initial_status = BIT_ULL(0) | GLOBAL_STATUS_COND_CHGD;
		vcpu_set_msr(vcpu, MSR_CORE_PERF_GLOBAL_STATUS, initial_status);
	}
	sync_global_to_guest(vm, initial_status);

	if (deny_fixed0)
		vm_ioctl(vm, KVM_SET_PMU_EVENT_FILTER, &filter);

	pmu_run_vcpu_to_done(vcpu);
	test_host_access(vcpu, version, effective, perf_caps);
	kvm_vm_free(vm);
}

/*
 * The guest reads its GLOBAL_STATUS, which userspace restored with CondChgd
 * set, and clears CondChgd via GLOBAL_STATUS_RESET.
 */
static void guest_code_cond_chgd(void)
{
	GUEST_SYNC(rdmsr(MSR_CORE_PERF_GLOBAL_STATUS));
	wrmsr(MSR_CORE_PERF_GLOBAL_OVF_CTRL, GLOBAL_STATUS_COND_CHGD);
	GUEST_ASSERT_EQ(rdmsr(MSR_CORE_PERF_GLOBAL_STATUS), 0);
	GUEST_DONE();
}

static u64 perf_caps;

/* Accesses per MSR and direction for the interception check. */
#define NR_ACCESSES	100

/*
 * Access STATUS_SET and INUSE, which KVM always intercepts, NR_ACCESSES times
 * each way, with a GUEST_SYNC before each batch.  INUSE writes #GP.
 */
static void guest_code_intercepts(void)
{
	int i;

	GUEST_SYNC(0);
	for (i = 0; i < NR_ACCESSES; i++)
		rdmsr(MSR_CORE_PERF_GLOBAL_STATUS_SET);
	GUEST_SYNC(1);
	for (i = 0; i < NR_ACCESSES; i++)
		wrmsr(MSR_CORE_PERF_GLOBAL_STATUS_SET, 0);
	GUEST_SYNC(2);
	for (i = 0; i < NR_ACCESSES; i++)
		rdmsr(MSR_CORE_PERF_GLOBAL_INUSE);
	GUEST_SYNC(3);
	for (i = 0; i < NR_ACCESSES; i++)
		GUEST_ASSERT_EQ(wrmsr_safe(MSR_CORE_PERF_GLOBAL_INUSE, 0), GP_VECTOR);
	GUEST_SYNC(4);
	GUEST_DONE();
}

#define NO_V4	"KVM reports PMU version %u, the v4 MSRs need v4+"

/*
 * The one check of KVM's version policy: PerfMon v5 on hosts with v4+.  It
 * fails on a KVM that reports less, by design.
 */
TEST(version_policy)
{
	TEST_ASSERT(kvm_pmu_version == 5,
		    "KVM reports PMU version %u on a v%u host, expected 5",
		    kvm_pmu_version, this_cpu_property(X86_PROPERTY_PMU_VERSION));
}

/*
 * Versions above the one KVM reports are tested too, KVM must treat them as
 * its own.
 */
TEST(versions)
{
	u8 v;

	if (kvm_pmu_version < 4)
		SKIP(return, NO_V4, kvm_pmu_version);

	for (v = 1; v <= 6; v++) {
		test_pmu_version(v, 0, false);
		if (perf_caps)
			test_pmu_version(v, perf_caps, false);
	}
}

/* INUSE reflects the guest's controls, not what the filter allows. */
TEST(inuse_filtered_fixed0)
{
	if (kvm_pmu_version < 4)
		SKIP(return, NO_V4, kvm_pmu_version);
	if (!kvm_cpu_property(X86_PROPERTY_PMU_NR_FIXED_COUNTERS))
		SKIP(return, "KVM reports no fixed counters");

	test_pmu_version(5, perf_caps, true);
}

/*
 * The mediated vPMU can't load CondChgd into hardware (it's reserved in
 * GLOBAL_STATUS_SET).  A CondChgd restored by userspace must survive the
 * context switches while the guest reads its status from KVM, i.e. while
 * GLOBAL_STATUS is intercepted, which a vCPU with fewer general purpose
 * counters than KVM's ensures.  Any PMU version KVM reports: the bug
 * predates PerfMon v4.
 */
TEST(restored_cond_chgd)
{
	u8 nr_gp = kvm_cpu_property(X86_PROPERTY_PMU_NR_GP_COUNTERS);
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;

	if (!kvm_is_mediated_pmu_enabled())
		SKIP(return, "Needs the mediated vPMU (enable_mediated_pmu=1)");
	if (!nr_gp)
		SKIP(return, "KVM reports no general purpose counters");

	vm = vm_create_with_one_vcpu(&vcpu, guest_code_cond_chgd);
	vcpu_set_cpuid_property(vcpu, X86_PROPERTY_PMU_NR_GP_COUNTERS, nr_gp - 1);
	vcpu_set_msr(vcpu, MSR_CORE_PERF_GLOBAL_STATUS, GLOBAL_STATUS_COND_CHGD);

	TEST_ASSERT_EQ(pmu_run_vcpu(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT(uc.args[1] == GLOBAL_STATUS_COND_CHGD,
		    "Guest read GLOBAL_STATUS 0x%lx, userspace restored 0x%llx",
		    uc.args[1], GLOBAL_STATUS_COND_CHGD);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_CORE_PERF_GLOBAL_STATUS),
		       GLOBAL_STATUS_COND_CHGD);

	pmu_run_vcpu_to_done(vcpu);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_CORE_PERF_GLOBAL_STATUS), 0);
	kvm_vm_free(vm);
}

/*
 * STATUS_SET and INUSE exit on every access with both vPMU flavours: the
 * mediated vPMU doesn't pass them through, as hardware accepts STATUS_SET
 * bits that KVM reserves for the vCPU and hardware's INUSE reflects KVM's
 * filtered controls.  Counted with the vCPU's "exits" statistic.
 */
TEST(v4_msrs_intercepted)
{
	static const char * const what[] = {
		"RDMSR(STATUS_SET)", "WRMSR(STATUS_SET)", "RDMSR(INUSE)", "WRMSR(INUSE)",
	};
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	u64 exits = 0, n;
	int stage;

	if (kvm_pmu_version < 4)
		SKIP(return, NO_V4, kvm_pmu_version);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code_intercepts);
	for (stage = 0; ; stage++) {
		if (pmu_run_vcpu(vcpu, &uc) == UCALL_DONE)
			break;
		n = vcpu_get_stat(vcpu, exits);
		TEST_ASSERT_EQ(uc.args[1], stage);
		TEST_ASSERT(!stage || n - exits >= NR_ACCESSES,
			    "%d %s caused %lu VM-Exits, expected one each",
			    NR_ACCESSES, what[stage - 1], n - exits);
		exits = n;
	}
	kvm_vm_free(vm);
}

int main(int argc, char *argv[])
{
	TEST_REQUIRE(kvm_is_pmu_enabled());
	TEST_REQUIRE(host_cpu_is_intel);

	/*
	 * Require a host PMU that can do PerfMon v4, not a KVM that reports
	 * it: global.version_policy checks that KVM reports PerfMon v5 on such
	 * a host, the other subtests skip if KVM doesn't report v4+.
	 */
	__TEST_REQUIRE(this_cpu_property(X86_PROPERTY_PMU_VERSION) >= 4,
		       "Host PMU version is %u, need architectural PerfMon v4+ (Skylake or later)",
		       this_cpu_property(X86_PROPERTY_PMU_VERSION));
	kvm_pmu_version = kvm_cpu_property(X86_PROPERTY_PMU_VERSION);
	ignore_msrs = kvm_is_ignore_msrs();

	if (kvm_cpu_has(X86_FEATURE_PDCM))
		perf_caps = kvm_get_feature_msr(MSR_IA32_PERF_CAPABILITIES);

	return test_harness_run(argc, argv);
}
