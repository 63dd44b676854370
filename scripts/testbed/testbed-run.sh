#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot one testbed run in Bochs and turn its serial log into results: the
# emulated Intel host of CPU model MODEL, with the vPMU flavour FLAVOUR
# (perf | mediated), booting the image of TREE (base | series) made by
# testbed-image.sh.  The run is killed (its whole process group) after
# TESTBED_TIMEOUT seconds (default 900) or at a second boot banner.
#
# Output, moved into place when the run has ended (a run that was killed,
# rebooted or did not finish gets no key: no later run trusts it):
# $TESTBED_DIR/runs/<name>/
#   serial.log   the console
#   results.tsv  model, flavour, tree, test, subtest, result, reason
#   key          what the results were made from (given as KEY); only for a
#                run that finished, so that any other is run again next time
#
# Usage: testbed-run.sh MODEL FLAVOUR TREE KEY

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

model=${1:-}
flavour=${2:-}
tree=${3:-}
key=${4:-}
[ -n "$key" ] || die "usage: $PROG MODEL perf|mediated base|series KEY"
# Whatever happens below, no earlier result of this run survives it.
rm -rf "$TESTBED_DIR/runs/$model-$flavour-$tree"
msrs=$TESTBED_SRC/msrs/$model.msrs
[ -f "$msrs" ] || die "no MSR file for the CPU model '$model' ($msrs)"
[ -f "$TESTBED_SRC/msrs/$flavour.msrs" ] || die "no MSR file for the vPMU flavour '$flavour' ($TESTBED_SRC/msrs/$flavour.msrs)"
iso=$TESTBED_DIR/$tree/$flavour.iso
[ -f "$iso" ] || die "$iso is missing: run scripts/testbed/testbed-image.sh $tree $flavour"
need_bochs
rom=$BOCHS_DIR/share/BIOS-bochs-latest
vgarom=$BOCHS_DIR/share/VGABIOS-lgpl-latest.bin
[ -f "$rom" ] || die "$rom is missing: run 'make deps' (it builds Bochs with its BIOS)"
[ -f "$vgarom" ] || die "$vgarom is missing: run 'make deps' (it builds Bochs with its VGA BIOS)"
timeout=${TESTBED_TIMEOUT:-900}

name=$model-$flavour-$tree
final=$TESTBED_DIR/runs/$name
mkdir -p "$TESTBED_DIR/runs"
rm -rf "$final"
run=$(mktemp -d "$TESTBED_DIR/runs/.$name.XXXXXX")
trap 'rm -rf "$run"' EXIT

cat "$msrs" "$TESTBED_SRC/msrs/$flavour.msrs" > "$run/msrs"
sed -e "s#@MODEL@#$model#" -e "s#@MSRS@#$run/msrs#" -e "s#@ROMIMAGE@#$rom#" \
	-e "s#@VGAROMIMAGE@#$vgarom#" -e "s#@ISO@#$iso#" -e "s#@SERIAL@#$run/serial.log#" \
	-e "s#@LOG@#$run/bochs.log#" "$TESTBED_SRC/bochsrc.in" > "$run/bochsrc"
grep -v '^#' "$run/bochsrc" > "$run/bochsrc.active" || true
grep -q '@[A-Z]*@' "$run/bochsrc.active" && die "testbed/bochsrc.in has a placeholder $PROG does not fill: $(grep -o '@[A-Z]*@' "$run/bochsrc" | sed -n '1,1p')"
rm -f "$run/bochsrc.active"
: > "$run/serial.log"

# The testbed's Bochs has the blank "nogui" display and no debugger: it
# needs no terminal and reads nothing; its own messages go to bochs.out.
setsid "$BOCHS_DIR/bin/bochs" -q -f "$run/bochsrc" < /dev/null > "$run/bochs.out" 2>&1 &
pgid=$!
stop_bochs() {
	kill -TERM -- "-$pgid" 2>/dev/null || true
	sleep 1
	kill -KILL -- "-$pgid" 2>/dev/null || true
	wait "$pgid" 2>/dev/null || true
}
trap 'stop_bochs; rm -rf "$run"' EXIT
trap 'exit 143' TERM INT

t0=$(date +%s)
verdict=
done_at=
while kill -0 "$pgid" 2>/dev/null; do
	if [ "$(grep -c '^Linux version ' "$run/serial.log")" -gt 1 ]; then
		verdict="second boot banner: the emulated host rebooted"
		break
	fi
	if grep -q '^TESTBED-DONE' "$run/serial.log"; then
		# The init is done and powers off: Bochs ends by itself; give it
		# some time, then stop it.
		[ -n "$done_at" ] || done_at=$(date +%s)
		if grep -q 'reboot: Power down' "$run/serial.log" ||
		   [ $(( $(date +%s) - done_at )) -ge 30 ]; then
			sleep 2
			break
		fi
	fi
	if [ $(( $(date +%s) - t0 )) -ge "$timeout" ]; then
		verdict="timed out after ${timeout}s"
		break
	fi
	sleep 2
done
stop_bochs
trap 'rm -rf "$run"' EXIT
if [ -z "$verdict" ] && [ "$(grep -c '^Linux version ' "$run/serial.log")" -gt 1 ]; then
	verdict="second boot banner: the emulated host rebooted"
fi
secs=$(( $(date +%s) - t0 ))
# The console's line ends are CR LF.
tr -d '\r' < "$run/serial.log" > "$run/serial.txt"
mv "$run/serial.txt" "$run/serial.log"
last=$(grep -a -v '^[[:space:]]*$' "$run/serial.log" | tail -n 1 | tr -d '\r' | cut -c1-160) || true

# Results.  A run-level failure is a row with test "(run)".
{
	parse_serial() {
		awk -F'\t' -v model="$model" -v flavour="$flavour" -v tree="$tree" '
		function row(test, st, res, why) {
			gsub(/[\t\r]/, " ", why)
			printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", model, flavour, tree, test, st, res, why
		}
		function flush_test(rc,    res, why) {
			if (cur == "")
				return
			if (rc == "") {
				row(cur, "", "fail", "no exit status: the run ended inside the test")
			} else if (nsub && plan && nsub != plan) {
				row(cur, "", "fail", "ran " nsub " of " plan " subtests (exit status " rc ")" (asrt != "" ? ": " asrt : "") (msg != "" ? ": " msg : ""))
			} else if (nsub && rc != 0 && rc != 4 && !nfail) {
				row(cur, "", "fail", "every subtest passed or skipped, but the test exited with status " rc (asrt != "" ? ": " asrt : "") (msg != "" ? ": " msg : ""))
			} else if (nsub) {
				# The rows of the subtests say it all.
			} else if (rc == 0) {
				if (!nsub)
					row(cur, "", "pass", "")
			} else if (rc == 4) {
				if (!nsub)
					row(cur, "", "skip", skipwhy)
			} else {
				why = asrt != "" ? asrt : "exit status " rc
				if (msg != "")
					why = why ": " msg
				row(cur, "", "fail", why)
			}
			cur = ""
		}
		{ sub(/\r$/, "") }
		/^TESTBED-TEST / { flush_test(""); cur = $0; sub(/^TESTBED-TEST /, "", cur)
			nsub = 0; nfail = 0; plan = 0; asrt = ""; msg = ""; inasrt = 0; skipwhy = ""; next }
		/^TESTBED-RC / { n = split($0, a, " "); flush_test(a[n]); next }
		/^TESTBED-KLOG-BEGIN/ { flush_test(""); next }
		cur == "" { next }
		/^==== Test Assertion Failure ====/ { inasrt = 1; next }
		inasrt == 1 {
			# "  file.c:LINE: expression": the file and the expression,
			# without the line number (it moves with every edit).
			line = $0; sub(/^[[:space:]]+/, "", line)
			f = line; sub(/:[0-9]+: .*/, "", f)
			e = line; sub(/^[^:]*:[0-9]+: /, "", e)
			asrt = f ": " e; inasrt = 2; next
		}
		inasrt == 2 && /^[[:space:]]+/ {
			line = $0; sub(/^[[:space:]]+/, "", line)
			if (line ~ /^pid=/ || line ~ /^\(stack trace empty\)/ || line ~ /^[0-9]+[[:space:]]+0x[0-9a-f]+:/ || line ~ /^\(inlined by\)/)
				next
			msg = msg == "" ? line : msg " " line
			next
		}
		/^(not )?ok [0-9]+ / {
			res = ($0 ~ /^not ok/) ? "fail" : "pass"
			d = $0; sub(/^(not )?ok [0-9]+ /, "", d)
			why = ""
			if (d ~ / # (SKIP|skip|XFAIL|TODO)/) {
				why = d; sub(/.* # /, "", why)
				sub(/ # (SKIP|skip|XFAIL|TODO).*/, "", d)
				res = "skip"
			}
			if (res == "fail")
				nfail++
			if (res == "fail" && asrt != "") {
				why = asrt (msg != "" ? ": " msg : "")
			}
			row(cur, d, res, why); nsub++; asrt = ""; msg = ""; inasrt = 0
			next
		}
		/^1\.\.[1-9][0-9]*$/ { plan = substr($0, 4) + 0; next }
		/^1\.\.0 # (SKIP|skip)/ { skipwhy = $0; sub(/^1\.\.0 # (SKIP|skip)[[:space:]]*(- )?/, "", skipwhy); next }
		/^# SKIP|^ok .* # SKIP/ { next }
		END { if (cur != "") flush_test("") }
		' "$run/serial.log"
	}
	if [ -n "$verdict" ]; then
		printf '%s\t%s\t%s\t(run)\t\tfail\t%s (%s, last serial line: %s)\n' "$model" "$flavour" "$tree" "$verdict" "$model" "$last"
	elif ! grep -q '^TESTBED-INIT ' "$run/serial.log"; then
		printf '%s\t%s\t%s\t(run)\t\tfail\tthe %s kernel did not reach the init (%s, last serial line: %s)\n' "$model" "$flavour" "$tree" "$tree" "$model" "$last"
	elif ! grep -q '^TESTBED-DONE' "$run/serial.log"; then
		printf '%s\t%s\t%s\t(run)\t\tfail\tthe run ended before the init finished (%s, last serial line: %s)\n' "$model" "$flavour" "$tree" "$model" "$last"
	fi
	parse_serial
	# The setup the tests ran under.
	want_med=N
	[ "$flavour" = mediated ] && want_med=Y
	for p in "kvm.enable_pmu=Y" "kvm.force_emulation_prefix=1" "kvm_intel.enable_mediated_pmu=$want_med" \
		"kvm_intel.enable_apicv=Y"; do
		if ! grep -qx "TESTBED-PARAM $p" "$run/serial.log"; then
			printf '%s\t%s\t%s\t(setup)\t%s\tfail\tmodule parameter not as required: %s\n' "$model" "$flavour" "$tree" "${p%%=*}" \
				"$(grep -a "^TESTBED-PARAM ${p%%=*}=\|^TESTBED-ERROR" "$run/serial.log" | tr '\n' ' ')"
		fi
	done
	if grep -q '^TESTBED-ERROR' "$run/serial.log"; then
		grep -a '^TESTBED-ERROR' "$run/serial.log" | sed -n '1,5p' | while IFS= read -r e; do
			printf '%s\t%s\t%s\t(setup)\t\tfail\t%s\n' "$model" "$flavour" "$tree" "${e#TESTBED-ERROR }"
		done
	fi
} > "$run/results.tsv"

# The kernel log: anything alarming after the module load fails the run;
# before it (boot), only the lines testbed/boot-noise allows.
{
	pat='WARNING:|BUG:|Oops|general protection|unchecked MSR access|Kernel panic'
	# From the init on: the console (an oops or a panic reaches it) and
	# the dump of the kernel log since the module load (WARNs and the
	# like reach only the log, see testbed/init.sh).
	after=$(sed -n '/^TESTBED-INIT /,$p' "$run/serial.log" | grep -a -E "$pat" | sed -n '1,3p' | tr '\t\n' '  ') || true
	klog=$(sed -n '/^TESTBED-KLOG-BEGIN/,/^TESTBED-KLOG-END/p' "$run/serial.log")
	if [ -z "$after" ] && { ! grep -q '^TESTBED-KLOG-END' <<< "$klog" ||
	   ! grep -q 'testbed: loading kvm and kvm_intel' <<< "$klog"; }; then
		after="no complete kernel log since the module load (the run ended before its dump, or the log lost the start)"
	fi
	before=$(sed -n '1,/^TESTBED-INIT /p' "$run/serial.log" | tr -d '\r' | grep -a -E "$pat" |
		grep -a -v -x -F -f <(sed -e '/^#/d' -e '/^$/d' "$TESTBED_SRC/boot-noise") | sed -n '1,3p' | tr '\t\n' '  ') || true
	if [ -n "$after" ]; then
		printf '%s\t%s\t%s\t(kernel log)\tafter module load\tfail\t%s\n' "$model" "$flavour" "$tree" "$after"
	else
		printf '%s\t%s\t%s\t(kernel log)\tafter module load\tpass\t\n' "$model" "$flavour" "$tree"
	fi
	if [ -n "$before" ]; then
		printf '%s\t%s\t%s\t(kernel log)\tboot\tfail\tnot in testbed/boot-noise: %s\n' "$model" "$flavour" "$tree" "$before"
	else
		printf '%s\t%s\t%s\t(kernel log)\tboot\tpass\t\n' "$model" "$flavour" "$tree"
	fi
} >> "$run/results.tsv"

# Only a run that finished is kept for later runs: without a key file, the
# next "make testbed" runs it again (its failure still counts now).
if [ -z "$verdict" ] && grep -q '^TESTBED-DONE' "$run/serial.log"; then
	printf '%s\n' "$key" > "$run/key"
fi
printf '%s\n' "$secs" > "$run/seconds"
rm -rf "$final"
mv -T "$run" "$final"
trap - EXIT
msg "$name: $(cut -f6 "$final/results.tsv" | sort | uniq -c | tr -s ' \n' ' ')in ${secs}s ($final)"
