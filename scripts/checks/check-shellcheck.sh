#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Check 7: shellcheck on the workbench scripts and .ci/run.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

need_cmd shellcheck shellcheck
cd "$TOP"
for f in scripts/*.sh scripts/*/*.sh .ci/run; do
	[ -f "$f" ] || continue
	if out=$(shellcheck -x "$f" 2>&1); then
		report pass "shellcheck $f"
	else
		report fail "shellcheck $f"
		printf '%s\n' "$out" | sed -n '1,30p' | indent
	fi
done
