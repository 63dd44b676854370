#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Check 1: series and patches/ agree, the cover letter is present, names
# the base in use and has the required sections, feature table, shortlog
# and diffstat, and patches/, series and the per-file views are exactly
# what "make export" regenerates from the applied series.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

resolve_base
cover=$TOP/patches/0000-cover-letter.patch

# Every patch listed once, every listed patch present, nothing else.
problems=()
mapfile -t listed < <(series_patches)
dups=$(printf '%s\n' "${listed[@]}" | sort | uniq -d)
[ -z "$dups" ] || problems+=("listed twice in series: ${dups//$'\n'/ }")
for p in "${listed[@]}"; do
	[ -f "$p" ] || problems+=("series lists ${p#"$TOP"/}, which does not exist")
done
for f in "$TOP"/patches/*; do
	[ -e "$f" ] || continue
	case "${f##*/}" in
	0000-cover-letter.patch) continue ;;
	*.patch) ;;
	*) problems+=("patches/${f##*/} is not a patch"); continue ;;
	esac
	grep -qxF "$f" <<< "$(printf '%s\n' "${listed[@]}")" ||
		problems+=("patches/${f##*/} is not listed in series")
done
if [ ${#problems[@]} -eq 0 ]; then
	report pass "series lists every patch in patches/ once (${#listed[@]} patches)"
else
	report fail "series and patches/ disagree" "${problems[*]}"
fi

# The cover letter.
if [ ! -f "$cover" ]; then
	report fail "cover letter" "patches/0000-cover-letter.patch is missing: run 'make export'"
else
	problems=()
	grep -q '\*\*\* SUBJECT HERE \*\*\*' "$cover" && problems+=("subject not filled in")
	grep -q '\*\*\* BLURB HERE \*\*\*' "$cover" && problems+=("blurb not filled in")
	n=$(sed -n -E 's/^Subject: \[(RFC )?PATCH[^]]* 0*\/([0-9]+)\].*/\2/p' "$cover" | sed -n '1,1p')
	[ "${n:-x}" = "${#listed[@]}" ] ||
		problems+=("subject says ${n:-no} patches, series has ${#listed[@]}")
	if [ -n "${KERNEL_SRC:-}" ]; then
		grep -qx "$BASE_DESC" "$cover" ||
			problems+=("no '$BASE_DESC' line (base is KERNEL_SRC=$KERNEL_SRC): run 'make export'")
	else
		last=$(grep -v '^$' "$cover" | tail -n 1)
		[ "$last" = "$BASE_DESC" ] ||
			problems+=("base line is '$last', base in use is '$BASE_DESC': run 'make export'")
	fi
	# The sections every cover letter of this series must have (headings
	# underlined with dashes), the feature table, and what git
	# format-patch generates: shortlog and diffstat.
	for h in "What and why" "Features" "Design choices and rejected alternatives" "Testing"; do
		[[ $(grep -A1 -x "$h" "$cover" | sed -n 2p) =~ ^-{3,}$ ]] ||
			problems+=("no '$h' section in Documentation/cover-letter.txt")
	done
	grep -q 'KVM before.*KVM after' "$cover" ||
		problems+=("no feature table ('KVM before', 'KVM after' columns)")
	grep -qE '^Subject: \[(RFC )?PATCH[^]]*\] KVM: ' "$cover" ||
		problems+=("the subject does not start with 'KVM: '")
	if [ ${#listed[@]} -gt 0 ]; then
		grep -qE '^[^ ].* \([0-9]+\):$' "$cover" || problems+=("no shortlog")
		grep -qE '^ [0-9]+ files? changed' "$cover" || problems+=("no diffstat")
	fi
	if [ ${#problems[@]} -eq 0 ]; then
		report pass "cover letter: sections, feature table, shortlog, diffstat; base line: $BASE_DESC"
	else
		report fail "cover letter" "${problems[*]}"
	fi
fi

# Regenerate everything from the applied series and compare.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! EXPORT_TREE=$SERIES_TREE OUTDIR=$tmp "$TOP/scripts/series/export.sh" > "$tmp/log" 2>&1; then
	report fail "regenerate the export from the applied series" "$(tail -n 3 "$tmp/log")"
	exit 0
fi
if d=$(diff -r "$TOP/patches" "$tmp/patches" && diff "$TOP/series" "$tmp/series"); then
	report pass "patches/ and series are what 'make export' regenerates"
else
	report fail "patches/ or series differ from 'make export' output (run 'make export')"
	printf '%s\n' "$d" | sed -n '1,30p' | indent
fi
if d=$(diff "$TOP/MAINTAINERS-snippet" "$tmp/MAINTAINERS-snippet"); then
	report pass "MAINTAINERS-snippet up to date (get_maintainer.pl of the base)"
else
	report fail "MAINTAINERS-snippet is stale (run 'make export')"
	printf '%s\n' "$d" | sed -n '1,30p' | indent
fi
if d=$(diff -r "$TOP/arch-x86-kvm" "$tmp/arch-x86-kvm" && diff -r "$TOP/tools-selftests" "$tmp/tools-selftests"); then
	report pass "per-file views (arch-x86-kvm/, tools-selftests/) up to date"
else
	report fail "per-file views are stale (run 'make export')"
	printf '%s\n' "$d" | sed -n '1,30p' | indent
fi
