#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Check: "make send" in dry-run mode prepares one mail per patch plus the
# cover letter, with recipients, and git send-email --dry-run accepts them.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

mapfile -t patches < <(series_patches)
if [ ${#patches[@]} -eq 0 ]; then
	report skip "make send (dry run)" "empty series, nothing to send"
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! out=$(SEND='' SEND_DIR="$tmp/outgoing" "$TOP/scripts/send.sh" 2>&1); then
	report fail "make send (dry run)" "$(printf '%s\n' "$out" | tail -n 3)"
	exit 0
fi
n=$(find "$tmp/outgoing" -name '*.patch' | wc -l)
missing=$(grep -L '^To: ' "$tmp/outgoing"/*.patch | sed 's#.*/##' | paste -sd' ' -)
if [ "$n" -ne $(( ${#patches[@]} + 1 )) ] || [ -n "$missing" ]; then
	report fail "make send (dry run)" "$n mails for ${#patches[@]} patches + cover letter; without To: ${missing:-none}"
else
	report pass "make send (dry run): $n mails with To/Cc, git send-email --dry-run OK"
fi
