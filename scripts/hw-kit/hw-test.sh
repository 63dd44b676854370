#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# "make hw-test": run the PMU selftests on an Intel host booted into the
# patched kernel, once per vPMU flavour, and write a TAP file and a short
# Markdown report.  For an Intel host with PerfMon v4+ (Sapphire Rapids or
# newer recommended), run as root.  See Documentation/testing.md.
#
# Variables:
#   SELFTESTS_DIR    the built KVM selftests (holding x86/pmu_counters_test
#                    ...); default: the workbench's build of them
#                    ($CACHE/build-debian/selftests or the KERNEL_SRC one;
#                    under sudo also the invoking user's ~/.cache/kvm-pmu-v5)
#   HW_TEST_OUT      output directory (default $CACHE/hw-test/<timestamp>)
#   HW_TEST_MODES    vPMU flavours, in order (default "perf mediated"):
#                    perf = kvm_intel.enable_mediated_pmu=0, mediated = 1
#   HW_TEST_TESTS    the selftests to run (default: the series' and
#                    upstream's PMU tests and the kit's benchmark, see
#                    TESTS below)
#   HW_TEST_TIMEOUT  seconds per test (default 900)
#
# It refuses (exit 2, before changing anything) when not root, on a CPU
# that is not GenuineIntel or has PerfMon < 4, when a selftest binary is
# missing, when kvm/kvm_intel are built in or in use (VMs, other modules).
# It then reloads kvm with enable_pmu=1 and checks, through KVM itself
# (never uname), that the running KVM is the patched one: MSR 0x392 in
# KVM_GET_MSR_INDEX_LIST and PMU version 5 (the host has v4+); otherwise it
# restores the modules and refuses.
#
# What it changes, restored on every exit (trap, Ctrl-C included): the kvm
# and kvm_intel modules are reloaded per mode (modprobe -r kvm_intel kvm;
# modprobe kvm enable_pmu=1; modprobe kvm_intel enable_mediated_pmu=0|1),
# and for the mediated mode /proc/sys/kernel/nmi_watchdog is set to 0.  At
# the end the modules are reloaded as found, with their original
# enable_pmu / enable_mediated_pmu values (other parameters come back from
# /etc/modprobe.d only; ones given by hand at the original load do not).
#
# Output in $HW_TEST_OUT: hw-test.tap, report.md, <mode>/<test>.log,
# probe output per mode.  Exit status: 0 nothing failed, 1 something
# failed, 2 refused.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

# Results go to the TAP file and the report, never to a make check count.
CHECK_RESULTS=

SERIES_TESTS="x86/pmu_global_msrs_test x86/pmu_freeze_test x86/pmu_fixed_counters_test"
UPSTREAM_TESTS="x86/pmu_counters_test x86/pmu_event_filter_test x86/vmx_pmu_caps_test"
# The kit's benchmark (scripts/hw-kit/hw-bench/), built next to the selftests by
# "make build"; not part of the series.
BENCH_TEST=x86/pmu_access_cost_bench
BENCH_LABELS="cpuid rdmsr_0x38f rdmsr_0x390 wrmsr_0x390 rdmsr_0x391 wrmsr_0x391 rdmsr_0x392 pmi_round_trip"
read -r -a TESTS <<< "${HW_TEST_TESTS:-$SERIES_TESTS $UPSTREAM_TESTS $BENCH_TEST}"
read -r -a MODES <<< "${HW_TEST_MODES:-perf mediated}"
TIMEOUT=${HW_TEST_TIMEOUT:-900}
WATCHDOG=/proc/sys/kernel/nmi_watchdog
P_PMU=/sys/module/kvm/parameters/enable_pmu
P_MEDIATED=/sys/module/kvm_intel/parameters/enable_mediated_pmu

refuse() {
	printf '%s: refusing to run: %s\n' "$PROG" "$*" >&2
	exit 2
}

# State for the exit trap.
TMP=
TEST_PID=
CHANGED=
WD_ORIG=
WD_CHANGED=
ORIG_KVM=
ORIG_INTEL=
ORIG_PMU=
ORIG_MEDIATED=
MEDIATED_REFUSED=

# value KEY FILE: the value of KEY in a hw-probe output.
value() {
	sed -n "/^$1=/{s/^$1=//p;q}" "$2"
}

param() {
	cat "$1" 2>/dev/null || printf 'none\n'
}

# Unload kvm_intel and kvm (retrying briefly while a test's fds close).
unload_kvm() {
	local _

	for _ in 1 2 3 4 5; do
		if [ -d /sys/module/kvm_intel ]; then
			modprobe -r kvm_intel || { sleep 1; continue; }
		fi
		if [ -d /sys/module/kvm ]; then
			modprobe -r kvm || { sleep 1; continue; }
		fi
		return 0
	done
	msg "could not unload kvm_intel/kvm (try 'modprobe -r kvm_intel kvm' by hand)"
	return 1
}

# load_kvm ENABLE_PMU(0|1) MEDIATED(0|1|none): reload both modules.
load_kvm() {
	local mediated=()

	[ "$2" = none ] || mediated=("enable_mediated_pmu=$2")
	unload_kvm &&
		modprobe kvm "enable_pmu=$1" &&
		modprobe kvm_intel "${mediated[@]}"
}

yn01() {
	case "$1" in
	Y|1) printf '1\n' ;;
	N|0) printf '0\n' ;;
	*) printf 'none\n' ;;
	esac
}

# load_orig MODULE PARAM VALUE(Y|N|none): load MODULE as it was found.
load_orig() {
	local p=()

	[ "$3" = none ] || p=("$2=$(yn01 "$3")")
	modprobe "$1" "${p[@]}"
}

restore() {
	local rc=$? bad=

	trap '' INT TERM HUP
	if [ -n "$TEST_PID" ]; then
		kill "$TEST_PID" 2>/dev/null || true
		wait "$TEST_PID" 2>/dev/null || true
	fi
	if [ -n "$CHANGED" ]; then
		msg "restoring kvm/kvm_intel as found (kvm: $ORIG_KVM enable_pmu=$ORIG_PMU; kvm_intel: $ORIG_INTEL enable_mediated_pmu=$ORIG_MEDIATED)"
		if ! unload_kvm; then
			bad=1
		elif [ "$ORIG_KVM" = loaded ]; then
			load_orig kvm enable_pmu "$ORIG_PMU" || bad=1
			if [ "$ORIG_INTEL" = loaded ]; then
				load_orig kvm_intel enable_mediated_pmu "$ORIG_MEDIATED" || bad=1
			fi
		fi
		if [ -z "$bad" ] && { [ "$(param "$P_PMU")" != "$ORIG_PMU" ] ||
				      [ "$(param "$P_MEDIATED")" != "$ORIG_MEDIATED" ]; }; then
			bad=1
		fi
		[ -z "$bad" ] || msg "error: kvm/kvm_intel NOT restored: enable_pmu=$(param "$P_PMU") enable_mediated_pmu=$(param "$P_MEDIATED"), wanted $ORIG_PMU/$ORIG_MEDIATED (kvm $ORIG_KVM, kvm_intel $ORIG_INTEL); fix by hand with modprobe -r kvm_intel kvm; modprobe kvm enable_pmu=...; modprobe kvm_intel enable_mediated_pmu=..."
	fi
	if [ -n "$WD_CHANGED" ]; then
		if printf '%s\n' "$WD_ORIG" > "$WATCHDOG"; then
			msg "restored $WATCHDOG to $WD_ORIG"
		else
			msg "error: could not restore $WATCHDOG to $WD_ORIG"
			bad=1
		fi
	fi
	[ -z "$TMP" ] || rm -rf "$TMP"
	if [ -n "$bad" ] && [ "$rc" -eq 0 ]; then
		rc=1
	fi
	exit "$rc"
}

on_signal() {
	msg "interrupted by SIG$1"
	exit $(( 128 + $2 ))
}

trap restore EXIT
trap 'on_signal INT 2' INT
trap 'on_signal TERM 15' TERM
trap 'on_signal HUP 1' HUP

# Processes holding /dev/kvm or a VM open, as "pid (comm)".
kvm_users() {
	local fd pid

	for fd in /proc/[0-9]*/fd/*; do
		case "$(readlink "$fd" 2>/dev/null)" in
		/dev/kvm|anon_inode:kvm-vm) ;;
		*) continue ;;
		esac
		pid=${fd#/proc/}
		pid=${pid%%/*}
		printf '%s (%s)\n' "$pid" "$(cat "/proc/$pid/comm" 2>/dev/null)"
	done | sort -u | paste -sd' ' - | grep . ||
		printf 'no process holding /dev/kvm or a VM (an in-kernel user?)\n'
}

# The default selftests directory: the workbench's build (lib.sh's
# resolve_base, which never fetches anything), else, under sudo, the
# invoking user's default cache.
default_selftests_dir() {
	local dir home

	dir=$( { resolve_base && printf '%s\n' "$SELFTEST_OUT"; } 2>/dev/null ) || dir=
	if [ -d "$dir" ]; then
		printf '%s\n' "$dir"
		return
	fi
	if [ -z "${KVM_PMU_CACHE:-}" ] && [ -n "${SUDO_USER:-}" ]; then
		home=$(getent passwd "$SUDO_USER" | cut -d: -f6)
		dir=$home/.cache/kvm-pmu-v5/build-debian/selftests
		[ -d "$dir" ] && printf '%s\n' "$dir"
	fi
	return 0
}

# ---- Checks before changing anything ---------------------------------------

[ ${#MODES[@]} -gt 0 ] || refuse "HW_TEST_MODES is empty: use \"perf\", \"mediated\" or both"
for m in "${MODES[@]}"; do
	case "$m" in
	perf|mediated) ;;
	*) refuse "HW_TEST_MODES: unknown mode '$m' (use \"perf\", \"mediated\" or both)" ;;
	esac
done
[ ${#TESTS[@]} -gt 0 ] || refuse "HW_TEST_TESTS is empty"
case "$TIMEOUT" in
''|*[!0-9]*) refuse "HW_TEST_TIMEOUT=$TIMEOUT is not a number of seconds" ;;
esac

[ "$(id -u)" = 0 ] ||
	refuse "not root: it reloads kvm/kvm_intel; run 'sudo make hw-test SELFTESTS_DIR=...'"

for c in "cc gcc" "modprobe kmod" "modinfo kmod" "timeout coreutils"; do
	command -v "${c% *}" >/dev/null 2>&1 ||
		refuse "'${c% *}' not found: install the Debian package '${c#* }'"
done

TMP=$(mktemp -d)
if ! out=$(cc -O2 -Wall -Wextra -Werror -o "$TMP/hw-probe" "$TOP/scripts/hw-kit/hw-probe.c" 2>&1); then
	printf '%s\n' "$out" | sed -n '1,20p' | indent >&2
	refuse "cannot compile scripts/hw-kit/hw-probe.c (needs the Debian packages gcc and linux-libc-dev)"
fi
PROBE=$TMP/hw-probe
"$PROBE" > "$TMP/probe-before.txt" 2> "$TMP/probe-before.err" ||
	msg "hw-probe: KVM as found: $(head -n 1 "$TMP/probe-before.err")"
HP=$TMP/probe-before.txt

vendor=$(value host_vendor "$HP")
[ "$vendor" = GenuineIntel ] ||
	refuse "the CPU vendor is '$vendor', not GenuineIntel: this tests KVM's Intel PMU emulation; use an Intel host with PerfMon v4+"
host_ver=$(value host_pmu_version "$HP")
case "$host_ver" in
''|*[!0-9]*) refuse "hw-probe printed no host_pmu_version: a bug in scripts/hw-kit/hw-probe.c" ;;
esac
if [ "$host_ver" -lt 4 ]; then
	why="host PerfMon version is $host_ver (CPUID.0xA.EAX[7:0]), 4 or newer is needed"
	if [ "$(value host_hypervisor "$HP")" = 1 ]; then
		why="$why (this is a guest whose hypervisor exposes no or an old PMU)"
	fi
	refuse "$why: use an Intel host with PerfMon v4+ (Skylake or newer; Ice Lake or newer for v5)"
fi

SELFTESTS_DIR=${SELFTESTS_DIR:-$(default_selftests_dir)}
[ -n "$SELFTESTS_DIR" ] ||
	refuse "no built KVM selftests found: build them in the patched tree ('make' here, or 'make -C tools/testing/selftests/kvm') and pass SELFTESTS_DIR=<dir holding x86/pmu_counters_test>"
missing=()
for t in "${TESTS[@]}"; do
	[ -x "$SELFTESTS_DIR/$t" ] || missing+=("$t")
done
[ ${#missing[@]} -eq 0 ] ||
	refuse "selftest binaries missing in SELFTESTS_DIR=$SELFTESTS_DIR: ${missing[*]}; build the patched tree's selftests ('make -C tools/testing/selftests/kvm') or choose tests with HW_TEST_TESTS"

# Were the selftests built from the tree of the running kernel?  Known
# when both were built here ("make build", "make kernel"): the commit each
# was built from, and the running kernel's version string against the
# kernel build's.  A known mismatch refuses; anything else is reported.
SELFTESTS_TREE="unknown: $SELFTESTS_DIR/.source-commit is missing (not built by 'make build')"
if [ -f "$SELFTESTS_DIR/.source-commit" ]; then
	sel_commit=$(cat "$SELFTESTS_DIR/.source-commit")
	kobj=$( { resolve_base && printf '%s\n' "$OBJ"; } 2>/dev/null ) || kobj=
	uts=$(sed -n 's/^#define UTS_VERSION "\(.*\)"$/\1/p' "$kobj/include/generated/utsversion.h" 2>/dev/null || true)
	if [ -z "$kobj" ] || [ ! -f "$kobj/.source-commit" ] || [ -z "$uts" ]; then
		SELFTESTS_TREE="commit $sel_commit; the running kernel's tree is unknown (no kernel built by 'make kernel' here)"
	elif [ "$uts" != "$(uname -v)" ]; then
		SELFTESTS_TREE="commit $sel_commit; the running kernel ($(uname -v)) is not the one 'make kernel' built ($uts), so its tree is unknown"
	elif [ "$(cat "$kobj/.source-commit")" != "$sel_commit" ]; then
		refuse "the selftests in $SELFTESTS_DIR were built from commit $sel_commit, the running kernel from $(cat "$kobj/.source-commit"): rebuild them ('make build') or boot the kernel of the same tree ('make kernel')"
	else
		SELFTESTS_TREE="commit $sel_commit, the tree of the running kernel"
	fi
fi

for m in kvm kvm_intel; do
	if [ -d "/sys/module/$m" ] && [ ! -e "/sys/module/$m/initstate" ]; then
		refuse "$m is built into the kernel, so it cannot be reloaded with other parameters: build the patched kernel with CONFIG_KVM=m and CONFIG_KVM_INTEL=m"
	fi
	if [ ! -d "/sys/module/$m" ]; then
		f=$(modinfo -F filename "$m" 2>/dev/null) ||
			refuse "no $m module for kernel $(uname -r): install the patched kernel's modules (modules_install)"
		[ "$f" != "(builtin)" ] ||
			refuse "$m is built into the kernel: build the patched kernel with CONFIG_KVM=m and CONFIG_KVM_INTEL=m"
	fi
done
if [ -d /sys/module/kvm ]; then
	ORIG_KVM=loaded
	others=$(find /sys/module/kvm/holders -mindepth 1 -maxdepth 1 ! -name kvm_intel -printf '%f ' 2>/dev/null || true)
	[ -z "$others" ] ||
		refuse "module(s) ${others% } use kvm and would prevent reloading it: unload them first"
	hold=0
	if [ -d /sys/module/kvm_intel ]; then
		ORIG_INTEL=loaded
		hold=1
		ref=$(cat /sys/module/kvm_intel/refcnt)
		[ "$ref" -eq 0 ] ||
			refuse "kvm_intel is in use (refcount $ref) by: $(kvm_users); stop these VMs/processes first"
	else
		ORIG_INTEL=absent
	fi
	ref=$(cat /sys/module/kvm/refcnt)
	[ "$ref" -le "$hold" ] ||
		refuse "kvm is in use (refcount $ref, kvm_intel holds $hold) by: $(kvm_users); stop these VMs/processes first"
else
	ORIG_KVM=absent
	ORIG_INTEL=absent
fi
ORIG_PMU=$(param "$P_PMU")
ORIG_MEDIATED=$(param "$P_MEDIATED")
if [ -e "$WATCHDOG" ]; then
	WD_ORIG=$(cat "$WATCHDOG")
fi

# ---- From here on the machine is changed; restore() undoes it ----------------

OUT=${HW_TEST_OUT:-$CACHE/hw-test/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
cp "$HP" "$OUT/probe-before.txt"
TAP=$OUT/hw-test.tap
REPORT=$OUT/report.md
msg "output: $OUT"

# Is the running KVM the patched one?  Asked of KVM, not of uname.
step "load kvm enable_pmu=1, kvm_intel enable_mediated_pmu=0; is KVM the patched one?"
CHANGED=1
load_kvm 1 0 > "$OUT/modprobe-check.log" 2>&1 ||
	die "loading kvm/kvm_intel failed: $(tail -n 3 "$OUT/modprobe-check.log")"
[ "$(param "$P_PMU")" = Y ] ||
	refuse "KVM cleared kvm.enable_pmu although loaded with enable_pmu=1 (a hybrid CPU, or host perf without a PMU driver; see dmesg): nothing to test"
"$PROBE" > "$OUT/probe-check.txt" || die "hw-probe failed against the loaded KVM"
# The series reports v5 on v4+ hosts, and the kit refuses hosts below v4.
want_ver=5
got=$(value kvm_pmu_version "$OUT/probe-check.txt")
inuse=$(value kvm_msr_0x392 "$OUT/probe-check.txt")
if [ "$inuse" != 1 ] || [ "$got" != "$want_ver" ]; then
	refuse "the running KVM is not the patched one: KVM reports PerfMon v$got (the series reports v$want_ver on this v$host_ver host) and MSR 0x392 is $([ "$inuse" = 1 ] || printf 'not ')in KVM_GET_MSR_INDEX_LIST; boot the kernel built by 'make kernel' and install its modules (uname -r is not checked)"
fi
step_done

# ---- Tests --------------------------------------------------------------------

declare -A RES DETAIL BENCH KVMINFO
NPASS=0
NFAIL=0
NSKIP=0
N=0
printf 'TAP version 13\n1..%d\n' $(( ${#MODES[@]} * ${#TESTS[@]} )) > "$TAP"

# result MODE TEST pass|fail|skip DETAIL: one TAP line (the detail of a
# pass or fail as a TAP diagnostic line below it), one console line.
result() {
	local mode=$1 t=$2 st=$3 detail=$4

	N=$(( N + 1 ))
	RES[$mode $t]=$st
	DETAIL[$mode $t]=$detail
	case "$st" in
	pass) NPASS=$(( NPASS + 1 ))
	      printf 'ok %d - %s: %s\n' "$N" "$mode" "$t" >> "$TAP" ;;
	fail) NFAIL=$(( NFAIL + 1 ))
	      printf 'not ok %d - %s: %s\n' "$N" "$mode" "$t" >> "$TAP" ;;
	skip) NSKIP=$(( NSKIP + 1 ))
	      printf 'ok %d - %s: %s # SKIP %s\n' "$N" "$mode" "$t" "$detail" >> "$TAP" ;;
	esac
	if [ "$st" != skip ] && [ -n "$detail" ]; then
		printf '# %s\n' "$detail" >> "$TAP"
	fi
	if [ -n "$detail" ]; then
		report "$st" "$mode: $t" "$detail"
	else
		report "$st" "$mode: $t"
	fi
}

# The skip reason in a kselftest log: "1..0 # SKIP - Requirement not
# met: ...", "ok N # SKIP ..." or kvm selftests' "..., skipping test".
skip_reason() {
	{ grep -m1 -E '# SKIP|skipping test|SKIP' "$1" || true; } |
		sed -E -e 's/^.*# SKIP *//' -e 's/^- *//' -e 's/, skipping test\.?$//' -e 's/^[0-9.]* *//' |
		tr -d '\r'
}

run_test() {
	local mode=$1 t=$2 log rc=0 t0 dt why

	log=$OUT/$mode/${t##*/}.log
	t0=$(date +%s)
	timeout "$TIMEOUT" "$SELFTESTS_DIR/$t" > "$log" 2>&1 < /dev/null &
	TEST_PID=$!
	wait "$TEST_PID" || rc=$?
	TEST_PID=
	dt=$(( $(date +%s) - t0 ))
	case "$rc" in
	0) why=$(skip_reason "$log")
	   result "$mode" "$t" pass "${why:+partly skipped: $why; }${dt}s" ;;
	4) why=$(skip_reason "$log")
	   result "$mode" "$t" skip "${why:-exit code 4 (KSFT_SKIP), no reason printed}" ;;
	124) result "$mode" "$t" fail "timed out after ${TIMEOUT}s" ;;
	*) result "$mode" "$t" fail "exit code $rc, log ${log#"$OUT"/}"
	   tail -n 20 "$log" | indent ;;
	esac
	if [ "$t" = "$BENCH_TEST" ]; then
		while read -r label n; do
			BENCH[$label $mode]=$n
			case " $BENCH_LABELS " in
			*" $label "*) ;;
			*) BENCH_LABELS="$BENCH_LABELS $label" ;;
			esac
		done < <(sed -n -E 's/^bench: ([A-Za-z0-9_.]+) ([0-9]+) cycles$/\1 \2/p' "$log")
	fi
}

for mode in "${MODES[@]}"; do
	want=0
	[ "$mode" = perf ] || want=1
	mkdir -p "$OUT/$mode"
	step "mode $mode: kvm enable_pmu=1, kvm_intel enable_mediated_pmu=$want"
	KVMINFO[$mode]=
	if ! load_kvm 1 "$want" > "$OUT/$mode/modprobe.log" 2>&1; then
		why="loading kvm/kvm_intel failed: $(tail -n 1 "$OUT/$mode/modprobe.log")"
		for t in "${TESTS[@]}"; do result "$mode" "$t" fail "$why"; done
		step_done
		continue
	fi
	dmesg 2>/dev/null | grep -i -E 'kvm|pmu|perf' | tail -n 30 > "$OUT/$mode/dmesg.txt" || true
	"$PROBE" > "$OUT/$mode/probe.txt" 2>&1 || msg "hw-probe failed in mode $mode (see $OUT/$mode/probe.txt)"
	KVMINFO[$mode]=$OUT/$mode/probe.txt
	got=$(param "$P_MEDIATED")
	why=
	if [ "$(param "$P_PMU")" != Y ]; then
		why="kvm.enable_pmu reads $(param "$P_PMU") after modprobe kvm enable_pmu=1"
	elif [ "$want" = 0 ] && [ "$got" != N ]; then
		why="kvm_intel.enable_mediated_pmu reads $got after modprobe with =0"
	fi
	if [ -n "$why" ]; then
		for t in "${TESTS[@]}"; do result "$mode" "$t" fail "$why"; done
	elif [ "$want" = 1 ] && [ "$got" != Y ]; then
		why="KVM refused enable_mediated_pmu=1 (reads $got: no mediated vPMU support on this host, see $mode/dmesg.txt)"
		MEDIATED_REFUSED=$why
		for t in "${TESTS[@]}"; do result "$mode" "$t" skip "$why"; done
	else
		if [ "$want" = 1 ] && [ "$WD_ORIG" = 1 ]; then
			msg "NMI watchdog off for the mediated mode (restored afterwards)"
			WD_CHANGED=1
			# A failed write must not abort the run before the report
			# (set -e): the tests then say why their VMs can't be created.
			printf '0\n' > "$WATCHDOG" ||
				msg "warning: could not write 0 to $WATCHDOG; mediated-mode VMs may fail to be created"
		fi
		for t in "${TESTS[@]}"; do run_test "$mode" "$t"; done
		if [ -n "$WD_CHANGED" ]; then
			if printf '%s\n' "$WD_ORIG" > "$WATCHDOG"; then
				WD_CHANGED=
			else
				msg "warning: could not restore $WATCHDOG to $WD_ORIG now; the exit trap retries"
			fi
		fi
	fi
	step_done
done

# ---- Report -------------------------------------------------------------------

bench_table() {
	local label mode line

	line="| Benchmark (cycles) |"
	for mode in "${MODES[@]}"; do line="$line $mode |"; done
	printf '%s\n' "$line"
	line="|---|"
	for mode in "${MODES[@]}"; do line="$line---:|"; done
	printf '%s\n' "$line"
	for label in $BENCH_LABELS; do
		line="| $label |"
		for mode in "${MODES[@]}"; do line="$line ${BENCH[$label $mode]:--} |"; done
		printf '%s\n' "$line"
	done
}

# kvm_row TITLE KEY: one row of the per-mode KVM table.
kvm_row() {
	local line="| $1 |" mode v

	for mode in "${MODES[@]}"; do
		v=-
		[ -z "${KVMINFO[$mode]}" ] || v=$(value "$2" "${KVMINFO[$mode]}")
		line="$line ${v:--} |"
	done
	printf '%s\n' "$line"
}

why_not() {
	local mode wd n=0 perf_lbr='' hfix kfix hgp kgp

	if [ -n "${KVMINFO[perf]:-}" ]; then
		perf_lbr=$(value kvm_lbr_format "${KVMINFO[perf]}")
	fi
	if [ "$(value host_arch_lbr "$HP")" = 1 ]; then
		printf -- '- The host has Arch LBR (Sapphire Rapids or newer): KVM gives guests legacy LBRs only on hosts without Arch LBR and with the mediated vPMU off, so the LBR part of pmu_freeze_test skips in every mode.\n'
		n=$(( n + 1 ))
	elif [ "${perf_lbr:-0}" = 0 ] && [ -n "${KVMINFO[perf]:-}" ]; then
		printf -- '- The host has no Arch LBR, but KVM offers guests no LBR format (PERF_CAPABILITIES[5:0] = 0) in perf mode: host perf has no LBR support for this CPU (PDCM=%s), so the LBR part of pmu_freeze_test skips.\n' "$(value host_pdcm "$HP")"
		n=$(( n + 1 ))
	fi
	for mode in "${MODES[@]}"; do
		[ "$mode" = mediated ] || continue
		printf -- '- The mediated vPMU gives guests no LBR and no PEBS: the LBR part of pmu_freeze_test (and any LBR/PEBS check) skips in mediated mode.\n'
		n=$(( n + 1 ))
		if [ -n "${KVMINFO[$mode]:-}" ]; then
			hfix=$(value host_pmu_fixed_mask "$HP")
			kfix=$(value kvm_pmu_fixed_mask "${KVMINFO[$mode]}")
			hgp=$(value host_pmu_gp_counters "$HP")
			kgp=$(value kvm_pmu_gp_counters "${KVMINFO[$mode]}")
			if [ "$hfix" != "$kfix" ] || [ "$hgp" != "$kgp" ]; then
				printf -- '- The mediated vPMU passes GLOBAL_CTRL, GLOBAL_STATUS, GLOBAL_STATUS_RESET and RDPMC through only to a vCPU with exactly the host'"'"'s counters, but KVM offers %s GP counters and fixed counters %s where the host has %s and %s (e.g. a fourth fixed counter, which KVM does not support): that passthrough is unreachable here, every such access is intercepted, and the tests'"'"' passthrough branches do not run.\n' \
					"$kgp" "$kfix" "$hgp" "$hfix"
				n=$(( n + 1 ))
			fi
		fi
		if [ -n "$MEDIATED_REFUSED" ]; then
			printf -- '- Mediated mode was unavailable: %s.  All its tests are reported as skipped.\n' "$MEDIATED_REFUSED"
		fi
		case "$WD_ORIG" in
		1) wd="it was on here, so it was turned off for the mediated mode and restored afterwards" ;;
		0) wd="it was off here" ;;
		*) wd="this kernel has none" ;;
		esac
		printf -- '- A host perf event without exclude_guest prevents creating VMs with the mediated vPMU.  The NMI watchdog is one (%s); any other, e.g. from a profiler or a monitoring agent, has the same effect and is not detected by this script: if mediated-mode tests fail to create their VM, look for one.\n' "$wd"
	done
	if [ "$(value host_hypervisor "$HP")" = 1 ]; then
		printf -- '- This host is itself a virtual machine: its PMU is whatever its hypervisor emulates.\n'
		n=$(( n + 1 ))
	fi
	[ "$n" -gt 0 ] || printf 'Nothing known prevents a test from running here.\n'
}

# subtest_result MODE TEST SUBTEST: the kselftest harness result of one
# subtest in the test's log (pass, FAIL, skip: reason, or not run).
subtest_result() {
	local log=$OUT/$1/${2##*/}.log line

	[ -f "$log" ] || { printf 'not run\n'; return 0; }
	line=$({ grep -m1 -E "^(not )?ok [0-9]+ $3( |\$)" "$log" || true; } | tr -d '\r')
	case "$line" in
	'') printf 'not run (no result line in %s)\n' "${log#"$OUT"/}" ;;
	'not ok'*) printf 'FAIL (log %s)\n' "${log#"$OUT"/}" ;;
	*'# SKIP'*) printf 'skip: %s\n' "${line#*# SKIP }" ;;
	*) printf 'pass\n' ;;
	esac
}

# What the series assumes about hardware and only hardware can show.
hw_assumptions() {
	local mode

	for mode in "${MODES[@]}"; do
		[ "$mode" = mediated ] || continue
		printf -- '- A WRMSR of CTR_Frz to GLOBAL_STATUS_SET freezes the counters like a PMI does (the mediated vPMU reloads a frozen guest'"'"'s CTR_Frz that way at every VM-Enter): x86/pmu_freeze_test global.restored_freeze in mediated mode: %s\n' \
			"$(subtest_result "$mode" x86/pmu_freeze_test global.restored_freeze)"
		return 0
	done
	printf -- '- A WRMSR of CTR_Frz to GLOBAL_STATUS_SET freezes the counters (mediated vPMU): not checked, the mediated mode did not run\n'
}

write_report() {
	local t mode line cell

	{
		printf '# PMU hardware test (%s)\n\n' "$(date -R)"
		printf -- '- Kernel: %s (information only; KVM itself was checked: MSR 0x392 listed, PerfMon v%s, as the series reports on v4+ hosts)\n' "$(uname -r)" "$want_ver"
		printf -- '- CPU: %s (family %s, model %s, stepping %s)\n' "$(value host_model_name "$HP")" \
			"$(value host_family "$HP")" "$(value host_model "$HP")" "$(value host_stepping "$HP")"
		printf -- '- Host PerfMon v%s: %s GP counters (%s bits), %s fixed counters (EDX[4:0]), fixed bitmap ECX %s, effective fixed mask %s\n' \
			"$host_ver" "$(value host_pmu_gp_counters "$HP")" "$(value host_pmu_gp_width "$HP")" \
			"$(value host_pmu_fixed_counters "$HP")" "$(value host_pmu_fixed_bitmap "$HP")" "$(value host_pmu_fixed_mask "$HP")"
		printf -- '- Arch LBR: %s; PDCM: %s; NMI watchdog as found: %s\n' \
			"$([ "$(value host_arch_lbr "$HP")" = 1 ] && echo yes || echo no)" \
			"$([ "$(value host_pdcm "$HP")" = 1 ] && echo yes || echo no)" "${WD_ORIG:-n/a}"
		printf -- '- Selftests: %s, built from %s\n\n' "$SELFTESTS_DIR" "$SELFTESTS_TREE"

		printf '## What KVM offers guests, per mode\n\n'
		line="| |"
		for mode in "${MODES[@]}"; do line="$line $mode |"; done
		printf '%s\n' "$line"
		line="|---|"
		for mode in "${MODES[@]}"; do line="$line---|"; done
		printf '%s\n' "$line"
		kvm_row "PMU version (CPUID.0xA.EAX[7:0])" kvm_pmu_version
		kvm_row "GP counters" kvm_pmu_gp_counters
		kvm_row "Fixed counters (EDX[4:0])" kvm_pmu_fixed_counters
		kvm_row "Fixed bitmap (ECX)" kvm_pmu_fixed_bitmap
		kvm_row "Effective fixed mask" kvm_pmu_fixed_mask
		kvm_row "AnyThread deprecated (EDX[15])" kvm_pmu_anythread_deprecated
		kvm_row "0x391 in MSR index list" kvm_msr_0x391
		kvm_row "0x392 in MSR index list" kvm_msr_0x392
		kvm_row "PERF_CAPABILITIES" kvm_perf_capabilities
		kvm_row "LBR format" kvm_lbr_format
		kvm_row "PEBS format" kvm_pebs_format
		printf '\n## Results\n\n%s passed, %s failed, %s skipped (TAP: hw-test.tap; logs: <mode>/<test>.log)\n\n' \
			"$NPASS" "$NFAIL" "$NSKIP"
		line="| Test |"
		for mode in "${MODES[@]}"; do line="$line $mode |"; done
		printf '%s\n' "$line"
		line="|---|"
		for mode in "${MODES[@]}"; do line="$line---|"; done
		printf '%s\n' "$line"
		for t in "${TESTS[@]}"; do
			line="| $t |"
			for mode in "${MODES[@]}"; do
				case "${RES[$mode $t]:-}" in
				pass) cell=pass ;;
				fail) cell=FAIL ;;
				skip) cell=skip ;;
				*) cell="not run" ;;
				esac
				[ -z "${DETAIL[$mode $t]:-}" ] || cell="$cell: ${DETAIL[$mode $t]}"
				line="$line ${cell//|/\\|} |"
			done
			printf '%s\n' "$line"
		done
		printf '\n## Hardware behaviour the series relies on\n\n'
		hw_assumptions
		printf '\n## Benchmarks (%s)\n\n' "$BENCH_TEST"
		bench_table
		printf '\n## Why tests can'"'"'t run here\n\n'
		why_not
	} > "$REPORT"
}

write_report
printf '\n'
bench_table
printf '\n%s passed, %s failed, %s skipped\n' "$NPASS" "$NFAIL" "$NSKIP"
printf 'Report: %s\nTAP:    %s\n' "$REPORT" "$TAP"
[ "$NFAIL" -eq 0 ] || exit 1
