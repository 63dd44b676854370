#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Check 3: scripts/checkpatch.pl --strict (with codespell) on every patch
# of the series: no ERROR, WARNING or CHECK, except those listed in
# checkpatch-exceptions (patch shortlog, message type, reason).  An
# exception that no longer matches anything is reported too.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

EXC=$TOP/checkpatch-exceptions

resolve_base
mapfile -t patches < <(series_patches)
if [ ${#patches[@]} -eq 0 ]; then
	report skip "checkpatch.pl --strict" "empty series, no patch to check"
	exit 0
fi

cp_opts=(--strict --terse --show-types --no-summary)
dict=
for d in /usr/share/codespell/dictionary.txt \
	 /usr/lib/python3/dist-packages/codespell_lib/data/dictionary.txt; do
	if [ -f "$d" ]; then
		dict=$d
		break
	fi
done
if [ -n "$dict" ] && [ -f "$dict" ]; then
	cp_opts+=(--codespell --codespellfile "$dict")
else
	msg "warning: codespell dictionary not found, checkpatch runs without --codespell"
fi

# "shortlog<TAB>TYPE" of every exception, to find stale ones.
used=$(mktemp)
trap 'rm -f "$used"' EXIT

for p in "${patches[@]}"; do
	name=${p##*/}
	# The subject, unfolded (long subjects continue on indented lines).
	subj=$(awk '/^Subject: / { s = $0; while ((getline line) > 0 && line ~ /^[ \t]/) s = s line; print s; exit }' "$p" |
		sed 's/^Subject: \(\[[^]]*\] \)\{0,1\}//')
	# checkpatch runs scripts/spdxcheck.py with "python3", which needs
	# python3-ply and python3-git: use Debian's python3, not another one
	# that may come first in PATH.
	out=$(cd "$SERIES_TREE" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl "${cp_opts[@]}" "$p" 2>&1) || true
	bad=()
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		type=$(printf '%s\n' "$line" | sed -n -E 's/^[^ ]*:[0-9]+: (ERROR|WARNING|CHECK):([A-Z0-9_]+):.*/\2/p')
		if [ -z "$type" ]; then
			# Not a finding (e.g. a note checkpatch prints); keep it visible.
			case "$line" in
			*ERROR:*|*WARNING:*|*CHECK:*) bad+=("$line") ;;
			esac
			continue
		fi
		if [ -f "$EXC" ] && awk -F' *\\| *' -v s="$subj" -v t="$type" '
			/^[[:space:]]*(#|$)/ { next }
			$1 == s && $2 == t && $3 != "" { found = 1 }
			END { exit !found }' "$EXC"; then
			printf '%s\t%s\n' "$subj" "$type" >> "$used"
			continue
		fi
		bad+=("${line#"$p":}")
	done <<< "$out"
	if [ ${#bad[@]} -eq 0 ]; then
		report pass "checkpatch --strict: $name"
	else
		report fail "checkpatch --strict: $name" "${#bad[@]} finding(s)"
		printf '%s\n' "${bad[@]}" | indent
	fi
done

if [ -f "$EXC" ]; then
	stale=$(awk -F' *\\| *' '/^[[:space:]]*(#|$)/ { next } { print $1 "\t" $2 }' "$EXC" |
		sort -u | comm -23 - <(sort -u "$used"))
	if [ -n "$stale" ]; then
		report fail "checkpatch-exceptions has entries that match no finding" "$(printf '%s' "$stale" | tr '\t\n' ':;')"
	fi
fi
