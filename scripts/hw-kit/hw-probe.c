// SPDX-License-Identifier: GPL-2.0
/*
 * hw-probe: what the host CPU and KVM say about the Intel architectural PMU,
 * printed as key=value lines for scripts/hw-kit/hw-test.sh (and for humans).
 *
 *   host_*  CPUID of the CPU this runs on: vendor, family/model/stepping,
 *           model name, leaf 0xA (PerfMon version, counters, fixed counter
 *           bitmap and the effective fixed counter mask per the SDM),
 *           Arch LBR (CPUID.(EAX=7,ECX=0):EDX[19]) and PDCM.
 *   kvm_*   what KVM offers guests, through the /dev/kvm system ioctls:
 *           KVM_GET_SUPPORTED_CPUID leaf 0xA, whether some PMU MSRs are in
 *           KVM_GET_MSR_INDEX_LIST, and the PERF_CAPABILITIES feature MSR
 *           (LBR and PEBS formats) from KVM_GET_MSRS on /dev/kvm.
 *
 * Without /dev/kvm it prints "kvm=unavailable" after the CPU part and
 * exits 0.  Exit status 1: a KVM ioctl failed (message on stderr).
 *
 * Build: cc -O2 -Wall -Wextra -Werror -o hw-probe hw-probe.c
 */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#define MSR_IA32_PERF_CAPABILITIES	0x345

/* PMU MSRs whose presence in KVM_GET_MSR_INDEX_LIST is reported. */
static const uint32_t pmu_msrs[] = { 0x38f, 0x390, 0x391, 0x392 };

static int failed;

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}

/*
 * Leaf 0xA.  Fixed counters: EDX[4:0] contiguous counters from 0 (version
 * 2+), and from version 5 also those set in the ECX bitmap (SDM: fixed
 * counter i is supported if ECX[i] || EDX[4:0] > i).
 */
static void print_pmu_leaf(const char *pfx, uint32_t eax, uint32_t ecx,
			   uint32_t edx)
{
	uint32_t version = eax & 0xff, nr_fixed = 0, width = 0, mask;

	if (version > 1) {
		nr_fixed = edx & 0x1f;
		width = (edx >> 5) & 0xff;
	}
	mask = nr_fixed ? (uint32_t)((1ull << nr_fixed) - 1) : 0;
	if (version >= 5)
		mask |= ecx;
	printf("%s_pmu_version=%u\n", pfx, version);
	printf("%s_pmu_gp_counters=%u\n", pfx, (eax >> 8) & 0xff);
	printf("%s_pmu_gp_width=%u\n", pfx, (eax >> 16) & 0xff);
	printf("%s_pmu_fixed_counters=%u\n", pfx, nr_fixed);
	printf("%s_pmu_fixed_width=%u\n", pfx, width);
	printf("%s_pmu_fixed_bitmap=0x%x\n", pfx, ecx);
	printf("%s_pmu_fixed_mask=0x%x\n", pfx, mask);
	printf("%s_pmu_anythread_deprecated=%u\n", pfx, (edx >> 15) & 1);
}

static void probe_cpu(void)
{
	uint32_t r[4], max, ext_max, family, model, name[12];
	char vendor[13];
	char *p;
	int i;

	cpuid(0, 0, r);
	max = r[0];
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = '\0';
	printf("host_vendor=%s\n", vendor);

	cpuid(1, 0, r);
	family = (r[0] >> 8) & 0xf;
	model = (r[0] >> 4) & 0xf;
	if (family == 0xf)
		family += (r[0] >> 20) & 0xff;
	if (family == 0x6 || family >= 0xf)
		model |= ((r[0] >> 16) & 0xf) << 4;
	printf("host_family=0x%x\nhost_model=0x%x\nhost_stepping=0x%x\n",
	       family, model, r[0] & 0xf);
	printf("host_pdcm=%u\n", (r[2] >> 15) & 1);
	printf("host_hypervisor=%u\n", (r[2] >> 31) & 1);

	ext_max = __get_cpuid_max(0x80000000, NULL);
	if (ext_max >= 0x80000004) {
		for (i = 0; i < 3; i++)
			cpuid(0x80000002 + i, 0, &name[i * 4]);
		p = (char *)name;
		p[47] = '\0';
		while (*p == ' ')
			p++;
		printf("host_model_name=%s\n", p);
	}

	if (max >= 7)
		cpuid(7, 0, r);
	else
		memset(r, 0, sizeof(r));
	printf("host_arch_lbr=%u\n", (r[3] >> 19) & 1);

	if (max >= 0xa)
		cpuid(0xa, 0, r);
	else
		memset(r, 0, sizeof(r));
	print_pmu_leaf("host", r[0], r[2], r[3]);
}

/* KVM_GET_MSR_INDEX_LIST or KVM_GET_MSR_FEATURE_INDEX_LIST; NULL on error. */
static struct kvm_msr_list *get_msr_list(int kvm, unsigned long req,
					 const char *name)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	size_t size;

	if (ioctl(kvm, req, &probe) && errno != E2BIG) {
		fprintf(stderr, "hw-probe: %s: %s\n", name, strerror(errno));
		failed = 1;
		return NULL;
	}
	size = sizeof(*list) + probe.nmsrs * sizeof(list->indices[0]);
	list = calloc(1, size);
	if (!list) {
		failed = 1;
		return NULL;
	}
	list->nmsrs = probe.nmsrs;
	if (probe.nmsrs && ioctl(kvm, req, list)) {
		fprintf(stderr, "hw-probe: %s: %s\n", name, strerror(errno));
		free(list);
		failed = 1;
		return NULL;
	}
	return list;
}

static int in_list(const struct kvm_msr_list *list, uint32_t msr)
{
	uint32_t i;

	for (i = 0; list && i < list->nmsrs; i++) {
		if (list->indices[i] == msr)
			return 1;
	}
	return 0;
}

static void probe_cpuid(int kvm)
{
	struct kvm_cpuid2 *cpuid = NULL;
	struct kvm_cpuid_entry2 *e;
	uint32_t eax = 0, ecx = 0, edx = 0, i;
	int nent = 128;

	for (;;) {
		free(cpuid);
		cpuid = calloc(1, sizeof(*cpuid) + nent * sizeof(*e));
		if (!cpuid)
			break;
		cpuid->nent = nent;
		if (!ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid))
			break;
		if (errno != E2BIG || nent >= 4096) {
			perror("hw-probe: KVM_GET_SUPPORTED_CPUID");
			free(cpuid);
			cpuid = NULL;
			break;
		}
		nent *= 2;
	}
	if (!cpuid) {
		printf("kvm_supported_cpuid=error\n");
		failed = 1;
		return;
	}
	for (i = 0; i < cpuid->nent; i++) {
		e = &cpuid->entries[i];
		if (e->function == 0xa && e->index == 0) {
			eax = e->eax;
			ecx = e->ecx;
			edx = e->edx;
		}
	}
	free(cpuid);
	print_pmu_leaf("kvm", eax, ecx, edx);
}

static void probe_perf_capabilities(int kvm)
{
	struct kvm_msr_list *features;
	struct kvm_msrs *msrs;
	uint64_t val;

	features = get_msr_list(kvm, KVM_GET_MSR_FEATURE_INDEX_LIST,
				"KVM_GET_MSR_FEATURE_INDEX_LIST");
	if (!in_list(features, MSR_IA32_PERF_CAPABILITIES)) {
		printf("kvm_perf_capabilities=%s\n",
		       features ? "unsupported" : "error");
		free(features);
		return;
	}
	free(features);

	msrs = calloc(1, sizeof(*msrs) + sizeof(msrs->entries[0]));
	if (!msrs)
		return;
	msrs->nmsrs = 1;
	msrs->entries[0].index = MSR_IA32_PERF_CAPABILITIES;
	if (ioctl(kvm, KVM_GET_MSRS, msrs) != 1) {
		fprintf(stderr, "hw-probe: KVM_GET_MSRS(0x345) failed\n");
		printf("kvm_perf_capabilities=error\n");
		failed = 1;
		free(msrs);
		return;
	}
	val = msrs->entries[0].data;
	free(msrs);
	printf("kvm_perf_capabilities=0x%llx\n", (unsigned long long)val);
	printf("kvm_lbr_format=%u\n", (unsigned int)(val & 0x3f));
	printf("kvm_pebs_format=%u\n", (unsigned int)((val >> 8) & 0xf));
	printf("kvm_fw_writes=%u\n", (unsigned int)((val >> 13) & 1));
}

int main(void)
{
	struct kvm_msr_list *msrs;
	const char *listed;
	unsigned int i;
	int kvm;

	probe_cpu();

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		printf("kvm=unavailable\nkvm_error=%s\n", strerror(errno));
		return 0;
	}
	printf("kvm=available\n");
	printf("kvm_api_version=%d\n", ioctl(kvm, KVM_GET_API_VERSION, 0));

	probe_cpuid(kvm);

	msrs = get_msr_list(kvm, KVM_GET_MSR_INDEX_LIST,
			    "KVM_GET_MSR_INDEX_LIST");
	for (i = 0; i < sizeof(pmu_msrs) / sizeof(pmu_msrs[0]); i++) {
		listed = "error";
		if (msrs)
			listed = in_list(msrs, pmu_msrs[i]) ? "1" : "0";
		printf("kvm_msr_0x%x=%s\n", pmu_msrs[i], listed);
	}
	free(msrs);

	probe_perf_capabilities(kvm);
	close(kvm);
	return failed;
}
