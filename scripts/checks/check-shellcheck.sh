#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Check 8: shellcheck on the workbench scripts and .ci/run, and no pipe
# into a reader that may exit before its writer is done (grep -q, grep -m,
# head): under pipefail such a pipe fails now and then with SIGPIPE.

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

# A line whose code (not a comment) pipes into grep -q/-m or head.
if bad=$(grep -nE '\|[[:space:]]*(grep[[:space:]]+(-[[:alnum:]]*[qm][[:alnum:]]*|--quiet|--silent|--max-count)|head)([[:space:]]|$)' \
		scripts/*.sh scripts/*/*.sh .ci/run | grep -vE '^[^:]+:[0-9]+:[[:space:]]*#'); then
	report fail "no pipe into grep -q, grep -m or head in scripts/ (SIGPIPE under pipefail)"
	printf '%s\n' "$bad" | indent
else
	report pass "no pipe into grep -q, grep -m or head in scripts/ (SIGPIPE under pipefail)"
fi
