// SPDX-License-Identifier: LGPL-2.1-or-later
//
// pmu-test: checks of the emulated Bochs PMU from a Linux guest.
//
// 1. MSR semantics through /dev/cpu/0/msr (CONFIG_X86_MSR): an access the
//    CPU answers with #GP fails with EIO.
// 2. Counting through perf_event_open: instructions:u and branches:u over a
//    counted loop of N iterations (two instructions, one branch each), for
//    N = 0 and N = LOOPS; the difference must be exactly 2*LOOPS
//    instructions and LOOPS branches (the constant the enable/disable
//    ioctls add in user space cancels out).
// 3. Overflow and PMI: a sampling event (instructions:u, sample_period
//    PERIOD) over the same loop; the samples in the ring buffer must match
//    the instructions counted divided by PERIOD.
//
// Build: gcc -static -O2 -o pmu-test pmu-test.c
// Prints one "PASS"/"FAIL" line per check and a closing
// "N passed, M failed" line.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOOPS  1000000ULL
#define PERIOD 10007ULL

static int passed, failed;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void check(int ok, const char *fmt, ...)
{
	va_list ap;
	printf("%s: ", ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (ok)
		passed++;
	else
		failed++;
}

/* ---------------------------------------------------------------- MSRs */

static int msr_fd = -1;

static int rdmsr(uint32_t idx, uint64_t *val)
{
	return pread(msr_fd, val, 8, idx) == 8 ? 0 : -errno;
}

static int wrmsr(uint32_t idx, uint64_t val)
{
	return pwrite(msr_fd, &val, 8, idx) == 8 ? 0 : -errno;
}

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

static void msr_tests(void)
{
	uint32_t r[4];
	uint64_t v, save_ctrl, save_fixed;
	unsigned version, ngp, width, nfixed, fixed_bitmap, i;
	int ok;

	msr_fd = open("/dev/cpu/0/msr", O_RDWR);
	if (msr_fd < 0) {
		check(0, "open /dev/cpu/0/msr: %s", strerror(errno));
		return;
	}

	cpuid(0xa, 0, r);
	version = r[0] & 0xff;
	ngp = (r[0] >> 8) & 0xff;
	width = (r[0] >> 16) & 0xff;
	nfixed = r[3] & 0x1f;
	fixed_bitmap = (1u << nfixed) - 1;
	if (version >= 5)
		fixed_bitmap |= r[2];
	printf("CPUID.0AH: eax=%08x ebx=%08x ecx=%08x edx=%08x: v%u, %u GP (%u bits), fixed 0x%x\n",
	       r[0], r[1], r[2], r[3], version, ngp, width, fixed_bitmap);
	if (version == 0 || ngp == 0) {
		printf("no architectural PMU with general purpose counters: MSR checks skipped\n");
		return;
	}

	/* counters beyond the enumerated ones do not exist */
	check(rdmsr(0xc1 + ngp - 1, &v) == 0, "RDMSR IA32_PMC%u (last GP counter)", ngp - 1);
	if (ngp < 8)
		check(rdmsr(0xc1 + ngp, &v) == -EIO, "RDMSR IA32_PMC%u #GP", ngp);
	if (ngp < 8)
		check(wrmsr(0x186 + ngp, 0) == -EIO, "WRMSR IA32_PERFEVTSEL%u #GP", ngp);
	for (i = 0; i < 4; i++)
		check((rdmsr(0x309 + i, &v) == 0) == !!(fixed_bitmap & (1u << i)),
		      "RDMSR IA32_FIXED_CTR%u %s", i, (fixed_bitmap & (1u << i)) ? "exists" : "#GP");

	/* PERFEVTSEL reserved bits */
	check(wrmsr(0x186, 1ULL << 32) == -EIO, "WRMSR IA32_PERFEVTSEL0 bit 32 #GP");

	/* legacy PMC writes sign-extend bit 31 to the counter width */
	v = 0;
	ok = wrmsr(0xc1, 0x80000000ULL) == 0 && rdmsr(0xc1, &v) == 0;
	check(ok && v == (((1ULL << width) - 1) & ~0x7fffffffULL),
	      "IA32_PMC0 write 0x80000000 reads 0x%llx", (unsigned long long)v);
	/* full width alias */
	if (rdmsr(0x345, &v) == 0 && (v & (1ULL << 13))) {
		check(wrmsr(0x4c1, 1ULL << (width - 1)) == 0 && rdmsr(0xc1, &v) == 0 &&
		      v == 1ULL << (width - 1), "IA32_A_PMC0 full width write");
		check(wrmsr(0x4c1, 1ULL << width) == -EIO, "IA32_A_PMC0 bit %u #GP", width);
	} else {
		check(rdmsr(0x4c1, &v) == -EIO, "IA32_A_PMC0 #GP without PERF_CAPABILITIES[13]");
	}
	wrmsr(0xc1, 0);

	if (version < 2)
		return;

	rdmsr(0x38f, &save_ctrl);
	rdmsr(0x38d, &save_fixed);
	check(wrmsr(0x38f, 1ULL << ngp) == -EIO || ngp >= 32, "IA32_PERF_GLOBAL_CTRL bit %u #GP", ngp);
	for (i = 0; i < 4; i++) {
		int exists = !!(fixed_bitmap & (1u << i));
		check((wrmsr(0x38f, 1ULL << (32 + i)) == 0) == exists,
		      "IA32_PERF_GLOBAL_CTRL bit %u %s", 32 + i, exists ? "ok" : "#GP");
		check((wrmsr(0x38d, 0x8ULL << (4 * i)) == 0) == exists,
		      "IA32_FIXED_CTR_CTRL PMI%u %s", i, exists ? "ok" : "#GP");
	}
	wrmsr(0x38d, save_fixed);
	wrmsr(0x38f, save_ctrl);
	check(wrmsr(0x38e, 0) == -EIO, "WRMSR IA32_PERF_GLOBAL_STATUS #GP (read only)");

	if (version >= 4) {
		uint64_t evtsel0;
		check(wrmsr(0x391, 1) == 0 && rdmsr(0x38e, &v) == 0 && (v & 1),
		      "STATUS_SET bit 0 sets GLOBAL_STATUS bit 0");
		check(wrmsr(0x390, 1) == 0 && rdmsr(0x38e, &v) == 0 && !(v & 1),
		      "STATUS_RESET bit 0 clears GLOBAL_STATUS bit 0");
		check(wrmsr(0x391, 1ULL << 63) == -EIO, "STATUS_SET bit 63 #GP");
		check(wrmsr(0x391, 1ULL << ngp) == -EIO || ngp >= 32, "STATUS_SET bit %u #GP", ngp);
		check(rdmsr(0x391, &v) == 0 && v == 0, "STATUS_SET reads 0");
		rdmsr(0x186, &evtsel0);
		check(wrmsr(0x186, 0xc0) == 0 && rdmsr(0x392, &v) == 0 && (v & 1),
		      "INUSE bit 0 with PERFEVTSEL0 event 0xc0 (EN clear)");
		check(wrmsr(0x186, 0x100000) == 0 && rdmsr(0x392, &v) == 0 && !(v & 1) && (v >> 63),
		      "INUSE bit 0 clear, PMI_InUse set with PERFEVTSEL0.INT only");
		wrmsr(0x186, evtsel0);
		check(wrmsr(0x392, 0) == -EIO, "WRMSR IA32_PERF_GLOBAL_INUSE #GP (read only)");
	} else {
		check(rdmsr(0x391, &v) == -EIO, "IA32_PERF_GLOBAL_STATUS_SET #GP before v4");
		check(rdmsr(0x392, &v) == -EIO, "IA32_PERF_GLOBAL_INUSE #GP before v4");
	}
}

/* ---------------------------------------------------------- perf events */

static int perf_open(uint32_t type, uint64_t config, uint64_t period)
{
	struct perf_event_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = type;
	attr.config = config;
	attr.disabled = 1;
	attr.exclude_kernel = 1;
	attr.exclude_hv = 1;
	if (period) {
		attr.sample_period = period;
		attr.sample_type = PERF_SAMPLE_IP;
		attr.wakeup_events = 1;
	}
	return syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
}

static void __attribute__((noinline)) loop(uint64_t n)
{
	/* n iterations of two instructions, one of them a branch */
	__asm__ volatile("1: dec %0\n\tjnz 1b" : "+r"(n) : : "cc");
}

static int measure(int fd, uint64_t n, uint64_t *count)
{
	ioctl(fd, PERF_EVENT_IOC_RESET, 0);
	ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
	loop(n);
	ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
	return read(fd, count, 8) == 8 ? 0 : -1;
}

static void count_test(const char *name, uint64_t config, uint64_t per_iter)
{
	uint64_t c0, c1, c0b, c1b;
	int fd = perf_open(PERF_TYPE_HARDWARE, config, 0);

	if (fd < 0) {
		check(0, "perf_event_open(%s): %s", name, strerror(errno));
		return;
	}
	/* loop(1): loop(0) would run 2^64 iterations */
	if (measure(fd, 1, &c0) || measure(fd, LOOPS + 1, &c1) ||
	    measure(fd, 1, &c0b) || measure(fd, LOOPS + 1, &c1b)) {
		check(0, "read(%s)", name);
		close(fd);
		return;
	}
	printf("%s: loop(1) = %llu, %llu; loop(%llu) = %llu, %llu\n", name,
	       (unsigned long long)c0, (unsigned long long)c0b, LOOPS + 1,
	       (unsigned long long)c1, (unsigned long long)c1b);
	check(c1 - c0 == per_iter * LOOPS && c1b - c0b == per_iter * LOOPS && c0 == c0b,
	      "%s: loop(%llu) - loop(1) = %llu, expected %llu; constant overhead %llu",
	      name, LOOPS + 1, (unsigned long long)(c1 - c0),
	      (unsigned long long)(per_iter * LOOPS),
	      (unsigned long long)(c0 - per_iter));
	close(fd);
}

static uint64_t rdpmc(uint32_t ecx)
{
	uint32_t lo, hi;

	__asm__ volatile("rdpmc" : "=a"(lo), "=d"(hi) : "c"(ecx));
	return lo | ((uint64_t)hi << 32);
}

/* Self-monitoring read of an enabled event through RDPMC (perf mmap page) */
static int read_rdpmc(struct perf_event_mmap_page *pc, uint64_t *count, uint32_t *ecx)
{
	uint32_t seq, idx;
	uint64_t val;
	int64_t pmc;

	do {
		seq = pc->lock;
		__sync_synchronize();
		idx = pc->index;
		val = pc->offset;
		if (!pc->cap_user_rdpmc || !idx)
			return -1;
		*ecx = idx - 1;
		/* sign-extend the counter from its width */
		pmc = (int64_t)(rdpmc(idx - 1) << (64 - pc->pmc_width));
		pmc >>= 64 - pc->pmc_width;
		val += pmc;
		__sync_synchronize();
	} while (pc->lock != seq);
	*count = val;
	return 0;
}

static void rdpmc_test(const char *name, uint64_t config, uint64_t per_iter)
{
	size_t pgsz = sysconf(_SC_PAGESIZE);
	struct perf_event_mmap_page *pc;
	uint64_t c_rdpmc = 0, c_read = 0;
	uint32_t ecx = 0;
	int fd = perf_open(PERF_TYPE_HARDWARE, config, 0), r;

	if (fd < 0) {
		check(0, "perf_event_open(%s): %s", name, strerror(errno));
		return;
	}
	pc = mmap(NULL, pgsz, PROT_READ, MAP_SHARED, fd, 0);
	if (pc == MAP_FAILED) {
		check(0, "mmap(%s): %s", name, strerror(errno));
		close(fd);
		return;
	}
	ioctl(fd, PERF_EVENT_IOC_RESET, 0);
	ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
	loop(LOOPS);
	r = read_rdpmc(pc, &c_rdpmc, &ecx);
	ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
	read(fd, &c_read, 8);
	printf("%s: RDPMC(0x%08x) = %llu, read() after disable = %llu\n", name, ecx,
	       (unsigned long long)c_rdpmc, (unsigned long long)c_read);
	check(r == 0 && c_rdpmc >= per_iter * LOOPS && c_read >= c_rdpmc &&
	      c_read - c_rdpmc < 200,
	      "%s read with RDPMC (ECX 0x%08x) while counting", name, ecx);
	munmap(pc, pgsz);
	close(fd);
}

static void cycles_test(void)
{
	uint64_t ci, cc;
	int fi = perf_open(PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, 0);
	int fc = perf_open(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, 0);

	if (fi < 0 || fc < 0) {
		check(0, "perf_event_open(cycles): %s", strerror(errno));
		return;
	}
	ioctl(fc, PERF_EVENT_IOC_ENABLE, 0);
	measure(fi, LOOPS, &ci);
	ioctl(fc, PERF_EVENT_IOC_DISABLE, 0);
	read(fc, &cc, 8);
	printf("cycles:u = %llu, instructions:u = %llu over loop(%llu)\n",
	       (unsigned long long)cc, (unsigned long long)ci, LOOPS);
	/* one cycle per instruction in this model (no REP, no faults here) */
	check(cc >= ci && cc >= 2 * LOOPS, "cycles:u >= instructions:u");
	close(fi);
	close(fc);
}

static void sampling_test(void)
{
	uint64_t count, samples = 0, lost = 0;
	size_t pgsz = sysconf(_SC_PAGESIZE), len = pgsz * (1 + 64);
	struct perf_event_mmap_page *mp;
	int fd = perf_open(PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, PERIOD);

	if (fd < 0) {
		check(0, "perf_event_open(sampling): %s", strerror(errno));
		return;
	}
	mp = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mp == MAP_FAILED) {
		check(0, "mmap: %s", strerror(errno));
		return;
	}
	measure(fd, LOOPS, &count);

	uint64_t head = mp->data_head, tail = mp->data_tail;
	__sync_synchronize();
	char *data = (char *)mp + pgsz;
	size_t size = pgsz * 64;
	while (tail < head) {
		struct perf_event_header *h = (void *)(data + (tail % size));
		if (h->type == PERF_RECORD_SAMPLE)
			samples++;
		else if (h->type == PERF_RECORD_LOST)
			lost += ((uint64_t *)(h + 1))[1];
		tail += h->size;
	}
	printf("sampling instructions:u period %llu: count %llu, %llu samples, %llu lost\n",
	       PERIOD, (unsigned long long)count, (unsigned long long)samples,
	       (unsigned long long)lost);
	check(lost == 0 && samples == count / PERIOD,
	      "samples %llu == count / period %llu", (unsigned long long)samples,
	      (unsigned long long)(count / PERIOD));
	munmap(mp, len);
	close(fd);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	msr_tests();
	count_test("instructions:u", PERF_COUNT_HW_INSTRUCTIONS, 2);
	count_test("branches:u", PERF_COUNT_HW_BRANCH_INSTRUCTIONS, 1);
	rdpmc_test("instructions:u", PERF_COUNT_HW_INSTRUCTIONS, 2);
	rdpmc_test("branches:u", PERF_COUNT_HW_BRANCH_INSTRUCTIONS, 1);
	cycles_test();
	sampling_test();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
