#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Check 8: the hardware test kit ("make hw-test") as far as it can be
# checked without an Intel PMU:
#
#   a. scripts/hw-kit/hw-probe.c compiles with -Wall -Wextra -Werror;
#   b. hw-probe runs and prints its keys (host CPU, and KVM's when
#      /dev/kvm can be opened);
#   c. scripts/hw-kit/hw-test.sh refuses (exit 2, "refusing to run: ...") on this
#      machine before changing anything: no module reloaded, no sysctl
#      written, no output directory created.
#
# (c) runs only when hw-probe shows that this machine cannot pass the
# refusal checks (not GenuineIntel, PerfMon < 4, or not root), and with an
# empty SELFTESTS_DIR as a second stop.  On an Intel PerfMon v4+ host as
# root it is skipped: there hw-test.sh would really reload kvm.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

HOST_KEYS="host_vendor host_family host_model host_stepping host_pdcm host_arch_lbr
	host_pmu_version host_pmu_gp_counters host_pmu_gp_width
	host_pmu_fixed_counters host_pmu_fixed_bitmap host_pmu_fixed_mask kvm"
KVM_KEYS="kvm_pmu_version kvm_pmu_gp_counters kvm_pmu_fixed_counters
	kvm_pmu_fixed_bitmap kvm_pmu_fixed_mask kvm_pmu_anythread_deprecated
	kvm_msr_0x391 kvm_msr_0x392 kvm_perf_capabilities"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# a. Build.
if ! command -v cc >/dev/null 2>&1; then
	report fail "hw-probe.c builds" "no 'cc': install the Debian package 'gcc'"
	exit 0
fi
if [ ! -f /usr/include/linux/kvm.h ]; then
	report fail "hw-probe.c builds" "/usr/include/linux/kvm.h missing: install the Debian package 'linux-libc-dev'"
	exit 0
fi
if ! out=$(cc -O2 -Wall -Wextra -Werror -o "$tmp/hw-probe" "$TOP/scripts/hw-kit/hw-probe.c" 2>&1); then
	report fail "hw-probe.c builds with -Wall -Wextra -Werror"
	printf '%s\n' "$out" | sed -n '1,30p' | indent
	exit 0
fi
report pass "hw-probe.c builds with -Wall -Wextra -Werror"

# b. Run.
rc=0
"$tmp/hw-probe" > "$tmp/probe.txt" 2> "$tmp/probe.err" || rc=$?
value() {
	sed -n "/^$1=/{s/^$1=//p;q}" "$tmp/probe.txt"
}
keys=$HOST_KEYS
[ "$(value kvm)" != available ] || keys="$keys $KVM_KEYS"
missing=()
for k in $keys; do
	grep -q "^$k=" "$tmp/probe.txt" || missing+=("$k")
done
vendor=$(value host_vendor)
ver=$(value host_pmu_version)
case "$ver" in
''|*[!0-9]*) missing+=("host_pmu_version (not a number: '$ver')") ;;
esac
if [ "$rc" -ne 0 ] || [ ${#missing[@]} -gt 0 ]; then
	report fail "hw-probe prints its keys" "exit code $rc; missing: ${missing[*]:-none}"
	indent < "$tmp/probe.err"
	exit 0
fi
report pass "hw-probe prints its keys" "$vendor family $(value host_family) model $(value host_model), PerfMon v$ver, kvm=$(value kvm)"

# c. The refusal path of hw-test.sh.
name="hw-test.sh refuses here before changing anything"
if [ "$vendor" = GenuineIntel ] && [ "$ver" -ge 4 ] && [ "$(id -u)" = 0 ]; then
	report skip "$name" "this is an Intel PerfMon v$ver host and we are root: hw-test.sh would reload kvm; run 'make hw-test' on purpose instead"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	expect="not root"
elif [ "$vendor" != GenuineIntel ]; then
	expect="not GenuineIntel"
else
	expect="PerfMon version is $ver"
fi

state() {
	local f

	for f in /sys/module/kvm/parameters/enable_pmu \
		 /sys/module/kvm_intel/parameters/enable_mediated_pmu \
		 /sys/module/kvm/initstate /sys/module/kvm_intel/initstate \
		 /proc/sys/kernel/nmi_watchdog; do
		printf '%s=%s\n' "$f" "$(cat "$f" 2>/dev/null || printf absent)"
	done
}

mkdir "$tmp/selftests"
before=$(state)
rc=0
SELFTESTS_DIR=$tmp/selftests HW_TEST_OUT=$tmp/out HW_TEST_MODES="perf mediated" \
	"$TOP/scripts/hw-kit/hw-test.sh" > "$tmp/hw-test.out" 2>&1 < /dev/null || rc=$?
after=$(state)
line=$(grep -m1 'refusing to run:' "$tmp/hw-test.out" || true)
problems=()
[ "$rc" -eq 2 ] || problems+=("exit code $rc, expected 2")
[ -n "$line" ] || problems+=("no 'refusing to run:' message")
case "$line" in
*"$expect"*) ;;
*) problems+=("the refusal does not say '$expect'") ;;
esac
[ ! -e "$tmp/out" ] || problems+=("it created its output directory")
[ "$before" = "$after" ] || problems+=("kvm/kvm_intel parameters or nmi_watchdog changed")
if [ ${#problems[@]} -eq 0 ]; then
	report pass "$name" "${line#*refusing to run: }"
else
	report fail "$name" "${problems[*]}"
	sed -n '1,20p' "$tmp/hw-test.out" | indent
fi
