#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Judge the testbed runs: one line per test and subtest of the series
# kernel,
#   PASS:|FAIL:|SKIP: testbed <model>/<flavour> <test>[/<subtest>] (base: <result>)
# then the checks across runs, and last "N passed, N failed, N skipped".
#
#   - testbed-expected lists what cannot pass on the emulator, with the
#     exact failure message: such an entry is a SKIP when the series fails
#     with exactly that message, and a FAIL when it passes, fails
#     differently or matches nothing (stale).
#   - FAIL: any other failure on the series; a pass on the base that is a
#     failure or a skip on the series; a failed run, setup or kernel log
#     (base or series).
#   - Negative control: a subtest the series adds (a test file the base
#     lacks, or a subtest name the base's source of that test lacks) that is
#     not listed must fail or skip on the base; the version check named in
#     testbed/features must fail on the base in every run.
#   - Every feature of testbed/features needs a subtest that passes on the
#     series.
# Writes $TESTBED_DIR/testbed-results.tsv (all rows of all runs).
#
# Usage: testbed-verdict.sh model/flavour...

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

[ $# -gt 0 ] || die "usage: $PROG model/flavour..."
RUN_LIST=("$@")
resolve_base
EXPECTED=$TOP/testbed-expected
FEATURES=$TESTBED_SRC/features
[ -f "$EXPECTED" ] || die "$EXPECTED is missing"
[ -f "$FEATURES" ] || die "$FEATURES is missing"

results=$TESTBED_DIR/testbed-results.tsv
local_results=${CHECK_RESULTS:-}
if [ -z "$local_results" ]; then
	CHECK_RESULTS=$(mktemp)
fi
passed_series=$(mktemp)
trap 'rm -f "$passed_series"; [ -n "$local_results" ] || rm -f "$CHECK_RESULTS"' EXIT
results_new=$(mktemp "$results.XXXXXX")
printf 'model\tflavour\ttree\ttest\tsubtest\tresult\treason\n' > "$results_new"
missing_runs=()
for r in "$@"; do
	for tree in base series; do
		f=$TESTBED_DIR/runs/${r%/*}-${r#*/}-$tree/results.tsv
		if [ -f "$f" ]; then
			cat "$f" >> "$results_new"
		else
			missing_runs+=("$r/$tree")
		fi
	done
done
mv "$results_new" "$results"

trim() { sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//'; }

# The rows of the results, fields separated by \037 rather than tabs: read
# splits on a whitespace IFS such as a tab by runs, losing empty fields
# (a test without subtests).
rows() {
	sed -e 1d -e 's/\t/\x1f/g' "$results"
}

# testbed-expected: "model/flavour | test[/subtest] | message | needs",
# the fields separated by " | " (a message may contain "||").
declare -a exp_pat exp_test exp_msg exp_need exp_used
n=0
while IFS=$'\x1f' read -r a b c d; do
	exp_pat[n]=$(trim <<< "$a")
	exp_test[n]=$(trim <<< "$b")
	exp_msg[n]=$(trim <<< "$c")
	exp_need[n]=$(trim <<< "$d")
	exp_used[n]=
	[ -n "${exp_need[n]}" ] || die "testbed-expected: the entry for ${exp_test[n]} (${exp_pat[n]}) gives no reason"
	n=$((n + 1))
done < <(awk -F ' [|] ' '/^[[:space:]]*(#|$)/ { next }
	{ printf "%s\x1f%s\x1f%s\x1f", $1, $2, $3; for (i = 4; i <= NF; i++) printf "%s%s", (i > 4 ? " | " : ""), $i; printf "\n" }' "$EXPECTED")

# The base's results, by "model/flavour<TAB>test/subtest".
declare -A base_res base_why
while IFS=$'\x1f' read -r m f tree t st res why; do
	[ "$tree" = base ] || continue
	base_res["$m/$f"$'\t'"$t${st:+/$st}"]=$res
	base_why["$m/$f"$'\t'"$t${st:+/$st}"]=$why
done < <(rows)

# Does the series add this test or subtest?  A test file the base lacks,
# or a subtest whose name (after the harness' "fixture.") the base's
# source of that test does not contain.
declare -A base_src
series_adds() {
	local t=$1 st=$2 src

	case "$t" in '('*) return 1 ;; esac
	if [ -z "${base_src[$t]+x}" ]; then
		base_src[$t]=$(git -C "$SRC_REPO" show "$BASE_REV:tools/testing/selftests/kvm/$t.c" 2>/dev/null || printf '\001none')
	fi
	src=${base_src[$t]}
	[ "$src" = $'\001none' ] && return 0
	[ -n "$st" ] || return 1
	! grep -qw -- "${st##*.}" <<< "$src"
}

status_word() {
	case "$1" in pass) echo PASS ;; fail) echo FAIL ;; *) echo SKIP ;; esac
}

line_out() {
	# line_out pass|fail|skip "model/flavour" "test/subtest" base-result [why...]
	local st=$1 mf=$2 key=$3 base=$4

	shift 4
	report "$st" "testbed $mf $key (base: $base)"
	local w
	for w in "$@"; do
		[ -n "$w" ] && printf '    %s\n' "$w"
	done
	return 0
}

while IFS=$'\x1f' read -r m f tree t st res why; do
	mf="$m/$f"
	key="$t${st:+/$st}"
	if [ "$tree" = base ]; then
		# A base run that did not work makes every comparison moot.
		# (A base kernel log with an alarm, e.g. the unchecked MSR access
		# of a bug the series fixes, shows in the series' line instead.)
		case "$t" in
		'(run)'|'(setup)')
			[ "$res" = fail ] && line_out fail "$mf" "$key [base kernel]" "$res" "$why" ;;
		esac
		continue
	fi
	# A test that ended before its harness ran on the base has one row
	# for the whole test there: that is the base's result of each subtest.
	base=${base_res["$mf"$'\t'"$key"]:-${base_res["$mf"$'\t'"$t"]:-none}}
	listed=
	for ((i = 0; i < n; i++)); do
		# shellcheck disable=SC2053 # the pattern is a glob
		if [[ $mf == ${exp_pat[i]} ]] && [ "$key" = "${exp_test[i]}" ]; then
			listed=$i
			exp_used[i]=1
			break
		fi
	done
	if [ -n "$listed" ]; then
		if [ "$res" = fail ] && [ "$why" = "${exp_msg[listed]}" ]; then
			line_out skip "$mf" "$key" "$base" "expected on the emulator: ${exp_need[listed]}"
		else
			line_out fail "$mf" "$key" "$base" \
				"testbed-expected lists it as failing with: ${exp_msg[listed]}" \
				"but it is: $res${why:+: $why}"
		fi
		continue
	fi
	bwhy=
	if [ "$base" = fail ] && [ "$t" = "(kernel log)" ]; then
		bwhy="base: ${base_why["$mf"$'\t'"$key"]}"
	fi
	case "$res" in
	pass)
		if [ -n "$bwhy" ]; then
			line_out pass "$mf" "$key" "$base" "$bwhy"
			printf '%s\t%s\n' "$mf" "$key" >> "$passed_series"
		elif [ "$base" = pass ] && series_adds "$t" "$st"; then
			line_out fail "$mf" "$key" "$base" "added by the series, but passes on the base too: it cannot tell the series from the base"
		else
			line_out pass "$mf" "$key" "$base"
			printf '%s\t%s\n' "$mf" "$key" >> "$passed_series"
		fi ;;
	skip)
		if [ "$base" = pass ]; then
			line_out fail "$mf" "$key" "$base" "passes on the base, skips on the series: $why"
		else
			line_out skip "$mf" "$key" "$base" "$why"
		fi ;;
	*)
		line_out fail "$mf" "$key" "$base" "$why" ;;
	esac
done < <(rows)

for r in "${missing_runs[@]}"; do
	report fail "testbed run $r" "no results (the run failed before writing any; see above)"
done
# Is some judged run one of the model/flavour glob $1?
judged() {
	local r

	for r in "${RUN_LIST[@]}"; do
		# shellcheck disable=SC2053 # the pattern is a glob
		[[ $r == $1 ]] && return 0
	done
	return 1
}

for ((i = 0; i < n; i++)); do
	[ -n "${exp_used[i]}" ] && continue
	# An entry for runs that were not made this time is not stale.
	judged "${exp_pat[i]}" || continue
	report fail "testbed-expected: ${exp_pat[i]} ${exp_test[i]}" "stale: no such test or subtest ran"
done

# testbed/features: "feature | subtest, ... | mutant" (a subtest may be
# "model/flavour-glob:test/subtest"; "none: reason" where the testbed has
# none yet, a SKIP) and one "version check | test/subtest" line (the
# negative control).
while IFS= read -r line; do
	case "$line" in ''|'#'*) continue ;; esac
	IFS='|' read -r a b c _ <<< "$line"
	feat=$(trim <<< "$a")
	subs=$(trim <<< "$b")
	if [ "$feat" = "version check" ]; then
		want=$(trim <<< "$c")
		IFS=, read -r -a sublist <<< "$subs"
		for r in "$@"; do
			for s in "${sublist[@]}"; do
				s=$(trim <<< "$s")
				b=${base_res["$r"$'\t'"$s"]:-none}
				bw=${base_why["$r"$'\t'"$s"]:-}
				# shellcheck disable=SC2053 # the message is a glob
				if [ "$b" = fail ] && [[ $bw == $want ]]; then
					report pass "testbed negative control: $r $s fails on the base" "$bw"
				elif [ "$b" = fail ]; then
					report fail "testbed negative control: $r $s" "fails on the base, but not as the version check must ($want): $bw"
				else
					report fail "testbed negative control: $r $s" "must fail on the base (KVM without the series), but is: $b"
				fi
			done
		done
		continue
	fi
	case "$subs" in
	none:*)
		report skip "testbed feature: $feat" "no subtest on the testbed yet:${subs#none:}"
		continue ;;
	esac
	found=
	any_run=
	IFS=, read -r -a sublist <<< "$subs"
	for s in "${sublist[@]}"; do
		s=$(trim <<< "$s")
		# "model/flavour-glob:test/subtest" restricts to those runs.
		mfpat='*'
		case "$s" in
		*/*:*) mfpat=${s%%:*}; s=${s#*:} ;;
		esac
		judged "$mfpat" && any_run=1
		while IFS=$'\t' read -r pmf pkey; do
			# shellcheck disable=SC2053 # the pattern is a glob
			[ "$pkey" = "$s" ] && [[ $pmf == $mfpat ]] && found="$found $pmf"
		done < "$passed_series"
	done
	found=$(tr ' ' '\n' <<< "$found" | sed '/^$/d' | sort -u | tr '\n' ' ')
	found=${found% }
	if [ -z "$found" ] && [ -z "$any_run" ]; then
		report skip "testbed feature: $feat" "none of its runs was made this time (listed: $subs)"
	elif [ -n "$found" ]; then
		report pass "testbed feature: $feat" "passes on the series in: $found"
	else
		report fail "testbed feature: $feat" "no subtest of it passes on the series (listed: $subs)"
	fi
done < "$FEATURES"

printf 'Results: %s\nSerial logs: %s/runs/*/serial.log\n' "$results" "$TESTBED_DIR"
if [ -z "$local_results" ]; then
	printf '%s passed, %s failed, %s skipped\n' "$(grep -c '^pass' "$CHECK_RESULTS" || true)" \
		"$(grep -c '^fail' "$CHECK_RESULTS" || true)" "$(grep -c '^skip' "$CHECK_RESULTS" || true)"
	if grep -q '^fail' "$CHECK_RESULTS"; then
		exit 1
	fi
fi
