#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# "make testbed-mutants": break each feature of the series once and show
# which testbed subtest catches it.  Each testbed/mutants/<name>.patch is
# applied to the series testbed tree, only the KVM modules are rebuilt,
# and the selftests run on the model/flavour testbed/features names for it
# (default corei7_icelake_u/perf, or TESTBED_MUTANT_RUN).  A mutant is killed when a
# subtest that testbed/features lists for its feature passes on the
# series and fails with the mutant; it survives otherwise, i.e. that
# feature has no real test on the testbed yet.  Not part of "make check".
#
# Usage: testbed-mutants.sh [name...]   (default: every mutant)

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

S=$TOP/scripts/testbed
resolve_base

if [ $# -gt 0 ]; then
	mutants=("$@")
else
	mutants=()
	for p in "$TESTBED_SRC"/mutants/*.patch; do
		[ -e "$p" ] || continue
		p=${p##*/}
		mutants+=("${p%.patch}")
	done
fi
[ ${#mutants[@]} -gt 0 ] || die "no mutant in $TESTBED_SRC/mutants/"

# The series' own results for the comparison, as "make testbed" makes them
# (kept while nothing changed).
step "testbed: the series' results (make testbed)"
"$S/testbed.sh" > "$TESTBED_DIR/mutants-series.log" 2>&1 ||
	msg "note: the testbed verdict on the series has failures (log: $TESTBED_DIR/mutants-series.log)"
step_done

src=$TESTBED_DIR/series/src
obj=$TESTBED_DIR/series/obj
restore() {
	git -C "$src" checkout -q -- . 2>/dev/null || true
	"$S/testbed-kernel.sh" series > "$TESTBED_DIR/mutants-restore.log" 2>&1 ||
		msg "warning: rebuilding the series testbed kernel failed (log: $TESTBED_DIR/mutants-restore.log)"
}
trap restore EXIT

CHECK_RESULTS=$(mktemp)
killed=0
survived=0
for m in "${mutants[@]}"; do
	patch=$TESTBED_SRC/mutants/$m.patch
	[ -f "$patch" ] || die "no mutant $patch"
	line=$(awk -F' [|] ' -v p="$m.patch" '!/^#/ && $3 == p { print; exit }' "$TESTBED_SRC/features")
	[ -n "$line" ] || die "testbed/features names no feature for the mutant $m.patch"
	feat=$(cut -d'|' -f1 <<< "$line" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')
	IFS=, read -r -a subs <<< "$(cut -d'|' -f2 <<< "$line")"
	run=$(cut -s -d'|' -f4 <<< "$line" | tr -d '[:space:]')
	run=${run:-${TESTBED_MUTANT_RUN:-corei7_icelake_u/perf}}
	model=${run%/*}
	flavour=${run#*/}
	series_res=$TESTBED_DIR/runs/$model-$flavour-series/results.tsv
	[ -f "$series_res" ] || die "no series results for $run: run 'make testbed' first"

	step "mutant $m ($feat)"
	git -C "$src" checkout -q -- .
	git -C "$src" apply "$patch" || die "testbed/mutants/$m.patch does not apply to the series"
	if ! make -C "$src" O="$obj" ARCH=x86_64 -s -j"$JOBS" modules > "$TESTBED_DIR/mutant-$m.log" 2>&1; then
		grep -E -A4 'error:' "$TESTBED_DIR/mutant-$m.log" | sed -n '1,20p' >&2 || true
		die "the mutant $m does not build (log: $TESTBED_DIR/mutant-$m.log)"
	fi
	dir=$TESTBED_DIR/mutant-$m
	rm -rf "$dir"
	mkdir -p "$dir"
	cp -a "$TESTBED_DIR/series/bzImage" "$TESTBED_DIR/series/deps" "$TESTBED_DIR/series/kernel.id" "$dir/"
	cp "$obj/arch/x86/kvm/kvm.ko" "$obj/arch/x86/kvm/kvm-intel.ko" "$dir/"
	git -C "$src" checkout -q -- .
	"$S/testbed-image.sh" "mutant-$m" "$flavour"
	"$S/testbed-run.sh" "$model" "$flavour" "mutant-$m" "mutant" ||
		die "the run of the mutant $m failed before writing results"
	mres=$TESTBED_DIR/runs/$model-$flavour-mutant-$m/results.tsv
	caught=()
	broken=$(awk -F'\t' '($4 == "(run)" || $4 == "(setup)") && $6 == "fail" { print $4 ": " $7 }' "$mres" | sed -n '1,1p')
	[ -z "$broken" ] || die "the run of the mutant $m did not work, so it proves nothing: $broken"
	for s in "${subs[@]}"; do
		s=$(sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' <<< "$s")
		case "$s" in
		none:*) break ;;
		*/*:*) s=${s#*:} ;;
		esac
		sr=$(awk -F'\t' -v k="$s" '($5 == "" ? $4 : $4 "/" $5) == k { print $6; exit }' "$series_res")
		mr=$(awk -F'\t' -v k="$s" '($5 == "" ? $4 : $4 "/" $5) == k { print $6 "\t" $7; exit }' "$mres")
		if [ "$sr" = pass ] && [ "${mr%%$'\t'*}" = fail ]; then
			caught+=("$s: ${mr#*$'\t'}")
		fi
	done
	if [ ${#caught[@]} -gt 0 ]; then
		report pass "mutant $m killed ($feat) on $run" "$(printf '%s; ' "${caught[@]}")"
		killed=$((killed + 1))
	else
		listed=$(cut -d'|' -f2 <<< "$line" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')
		report fail "mutant $m survived ($feat) on $run" "no listed subtest (${listed:-none}) passes on the series and fails with it"
		survived=$((survived + 1))
	fi
	step_done
done
printf '%s passed, %s failed, %s skipped\n' "$killed" "$survived" 0
rm -f "$CHECK_RESULTS"
[ "$survived" -eq 0 ]
