#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Check 10: the testbed (scripts/testbed/testbed.sh).  The PMU selftests run on the
# base and on the patched KVM inside an emulated Intel host (Bochs): one
# line per test and subtest, judged against testbed-expected and
# testbed/features.  These are emulated results, not hardware results:
# see Documentation/testing.md.  Its lines count in the summary of "make
# check"; a failure of the testbed itself (a kernel that does not build, a
# missing package) is one failure.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

printf 'NOTE: testbed results are EMULATED (Bochs, KVM emulation on an emulated PMU), not hardware results;\n'
printf '      the L1 kernels carry the testbed-only change testbed/shim.patch (PMC reads by RDMSR).\n'
if ! "$TOP/scripts/testbed/testbed.sh"; then
	grep -q '^fail' "$CHECK_RESULTS" ||
		report fail "testbed" "scripts/testbed/testbed.sh failed before its verdict (see above)"
fi
exit 0
