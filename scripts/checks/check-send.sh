#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Check: "make send" in dry-run mode prepares one mail per patch plus the
# cover letter, with recipients, and git send-email --dry-run accepts them.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

mapfile -t patches < <(series_patches)
if [ ${#patches[@]} -eq 0 ]; then
	report skip "make send (dry run)" "empty series, nothing to send"
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sender="Test Sender <test.sender@kernel.org>"
if ! out=$(SEND='' SEND_NAME="${sender% <*}" SEND_EMAIL=test.sender@kernel.org \
	SEND_DIR="$tmp/outgoing" "$TOP/scripts/series/send.sh" 2>&1); then
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

# The sender signs off every patch, last, and is the mails' From.
unsigned=()
for p in "$tmp/outgoing"/[0-9]*.patch; do
	case "${p##*/}" in 0000-*) continue ;; esac
	last=$(sed -n '/^---$/q; /^Signed-off-by: /p' "$p" | tail -n 1)
	[ "$last" = "Signed-off-by: $sender" ] || unsigned+=("${p##*/}")
done
if [ ${#unsigned[@]} -gt 0 ]; then
	report fail "make send: the sender's Signed-off-by ends each chain" "missing in: ${unsigned[*]}"
elif ! grep -q "^From: $sender" "$tmp/outgoing/dry-run.log"; then
	report fail "make send: mails are From the sender" "no 'From: $sender' in the dry run (log: $tmp/outgoing/dry-run.log)"
else
	report pass "make send: From and the last Signed-off-by of every patch are the sender's git identity"
fi

# A placeholder identity is never presented as the sender's.
if out=$(SEND=yes SEND_NAME="Placeholder" SEND_EMAIL=someone@users.noreply.example.example \
	SEND_DIR="$tmp/refused" "$TOP/scripts/series/send.sh" < /dev/null 2>&1); then
	report fail "make send SEND=yes refuses a placeholder identity" "it went ahead: $(printf '%s\n' "$out" | tail -n 1)"
else
	report pass "make send SEND=yes refuses a placeholder identity"
fi
