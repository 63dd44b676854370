#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# "make check": everything that can be verified without Intel PMU hardware,
# one line per check, then a last line "N passed, N failed, N skipped".
#
#   1. series / patches/ / cover letter / per-file views consistency
#   2. git am (no fuzz, no whitespace warnings) and quilt push -a --fuzz=0
#   3. checkpatch.pl --strict on every patch (exceptions: checkpatch-exceptions)
#   4. bisectability: build after every patch (W=1, KVM_WERROR=y)
#   5. sparse: no new warnings vs the base
#   6. KVM selftests: no new build warnings; the PMU selftests run (and
#      skip without an Intel PMU: counted as skipped)
#   7. the documentation the series changes builds (make SPHINXDIRS=...
#      htmldocs) without warnings in the changed files
#   8. shellcheck on scripts/ and .ci/run
#   9. the hardware test kit: scripts/hw-kit/hw-probe.c builds (-Wall -Wextra
#      -Werror) and prints its keys, and "make hw-test" refuses (exit 2)
#      here, before changing anything
#  10. the testbed: the PMU selftests on the base and on the patched KVM in
#      an emulated Intel host (Bochs), both CPU models, both vPMU flavours;
#      emulated results, never hardware results (scripts/testbed/testbed.sh)
#   Also: "make send" in dry-run mode prepares the mails.
#
# Exit status: 0 when nothing failed.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

CHECK_RESULTS=$(mktemp)
KVM_PMU_TIMES=$(mktemp)
export CHECK_RESULTS
trap 'rm -f "$CHECK_RESULTS" "$KVM_PMU_TIMES"' EXIT
S="$TOP/scripts"
t_start=$(date +%s)

# Run one check script as a timed step; a crash of the script is a failure.
run_check() {
	local name=$1 script=$2

	step "check: $name"
	if ! "$S/$script"; then
		report fail "$name" "$script exited with an error (see above)"
	fi
	step_done
}

summary() {
	local pass fail skip

	pass=$(grep -c '^pass' "$CHECK_RESULTS" || true)
	fail=$(grep -c '^fail' "$CHECK_RESULTS" || true)
	skip=$(grep -c '^skip' "$CHECK_RESULTS" || true)
	printf '\nTimes (seconds):\n'
	sed 's/^/  /' "$KVM_PMU_TIMES"
	printf '  %s\ttotal\n\n' "$(( $(date +%s) - t_start ))"
	printf '%s passed, %s failed, %s skipped\n' "$pass" "$fail" "$skip"
	[ "$fail" -eq 0 ]
}

# Run one preparation script as a timed step.
prep() {
	local name=$1 script=$2 rc=0

	step "prepare: $name"
	"$S/$script" || rc=$?
	step_done
	return "$rc"
}

# Preparation: tools, base.  Without them nothing can be checked.
prep "tools (make deps)" deps.sh || { report fail "install the tools (make deps)"; summary; exit 1; }
if [ -z "${KERNEL_SRC:-}" ]; then
	prep "Debian base (make base)" series/fetch-base.sh ||
		{ report fail "fetch the Debian base (make base)"; summary; exit 1; }
fi
resolve_base
printf 'Base: %s\n' "$BASE_DESC"

applied=1
prep "apply the series (make apply)" series/apply-series.sh || applied=
run_check "series consistency" checks/check-series.sh
if [ -z "$applied" ]; then
	report fail "git am of the series onto a clean base" "see the failing patch above"
	run_check "checkpatch" checks/check-checkpatch.sh
	run_check "shellcheck" checks/check-shellcheck.sh
	summary
	exit 1
fi
run_check "git am / quilt" checks/check-apply.sh
run_check "checkpatch" checks/check-checkpatch.sh
run_check "send (dry run)" checks/check-send.sh
prep "kernel configuration (make config)" series/configure.sh ||
	{ report fail "kernel configuration"; summary; exit 1; }
run_check "bisectability" checks/check-bisect.sh
run_check "sparse" checks/check-sparse.sh
run_check "selftests" checks/check-selftests.sh
run_check "documentation" checks/check-docs.sh
run_check "shellcheck" checks/check-shellcheck.sh
run_check "hardware test kit" checks/check-hwtest.sh
run_check "testbed (emulated Intel host)" checks/check-testbed.sh
summary
