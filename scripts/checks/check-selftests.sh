#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Check 6: the KVM selftests of the patched tree build from scratch with no
# warning the base build does not have (see check-bisect.sh), and the PMU
# selftests run: the series' own (x86 tests it adds to Makefile.kvm) and
# upstream's pmu_counters_test, pmu_event_filter_test and vmx_pmu_caps_test.
#
# The tests run on THIS machine's kernel and KVM, not on the patched tree.
# Without an Intel PMU (or with enable_pmu=N) they skip; a skip is counted
# as skipped, never as passed, and any failure fails the check.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

UPSTREAM_TESTS="x86/pmu_counters_test x86/pmu_event_filter_test x86/vmx_pmu_caps_test"
TIMEOUT=${SELFTEST_TIMEOUT:-600}

resolve_base
[ -f "$STAMPS/config" ] || die "the series tree is not configured: run 'make config'"
cfg=$(cat "$STAMPS/config")
base_tree=$(git -C "$SRC_REPO" rev-parse "$BASE_REV^{tree}")
base_warn=$STAMPS/base-warnings-$(printf '%s %s' "$base_tree" "$cfg" | sha1sum | cut -c1-16).selftests
out=$BUILD_DIR/selftests-check
log=$BUILD_DIR/logs/selftests-check.log
mkdir -p "$BUILD_DIR/logs"

if [ ! -f "$base_warn" ]; then
	report fail "selftests: base warnings unknown" "the base build (check-bisect.sh) did not complete"
	exit 0
fi

# A full build of the final tree's selftests, so that every warning shows.
rm -rf "$out"
if ! SELFTEST_OUT=$out build_selftests "$log"; then
	report fail "selftests build with the series" "log: $log"
	exit 0
fi
if SELFTEST_OUT=$out build_hw_bench "$BUILD_DIR/logs/hw-bench-check.log"; then
	if [ -n "$(warnings_of "$BUILD_DIR/logs/hw-bench-check.log")" ]; then
		report fail "hardware kit benchmark: build warnings" "log: $BUILD_DIR/logs/hw-bench-check.log"
	else
		report pass "hardware kit benchmark (scripts/hw-kit/hw-bench/) builds with the series' selftests"
	fi
else
	report fail "hardware kit benchmark (scripts/hw-kit/hw-bench/) builds with the series' selftests" "log: $BUILD_DIR/logs/hw-bench-check.log"
fi
new=$(warnings_of "$log" | comm -23 - "$base_warn")
if [ -z "$new" ]; then
	report pass "selftests build with the series: no new warnings ($(wc -l < "$base_warn") at the base)"
else
	report fail "selftests build: new warnings"
	printf '%s\n' "$new" | sed -n '1,40p' | indent
fi

# The series' own x86 tests: those its patches add to Makefile.kvm.
own=$(git -C "$SERIES_TREE" diff "$BASE_REV" HEAD -- tools/testing/selftests/kvm/Makefile.kvm |
	sed -n -E 's#^\+TEST_GEN_PROGS_x86[[:space:]]*\+=[[:space:]]*(x86/[A-Za-z0-9_]+).*#\1#p')

printf 'NOTE: the PMU selftests below run on this machine'"'"'s kernel (%s), not on the patched tree.\n' "$(uname -r)"
for t in $own $UPSTREAM_TESTS; do
	bin=$out/$t
	if [ ! -x "$bin" ]; then
		report fail "selftest $t" "binary $bin was not built"
		continue
	fi
	tlog=$BUILD_DIR/logs/${t##*/}.log
	rc=0
	timeout "$TIMEOUT" "$bin" > "$tlog" 2>&1 < /dev/null || rc=$?
	case "$rc" in
	0) report pass "selftest $t" ;;
	4) report skip "selftest $t" "$(grep -m1 -E 'SKIP|skip' "$tlog" | sed 's/^[0-9.]* *//')" ;;
	124) report fail "selftest $t" "timed out after ${TIMEOUT}s (log: $tlog)" ;;
	*) report fail "selftest $t" "exit code $rc (log: $tlog)"
	   tail -n 20 "$tlog" | indent ;;
	esac
done
