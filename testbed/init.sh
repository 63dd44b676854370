#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the testbed's initramfs (busybox sh), inside the emulated host:
# load kvm (enable_pmu=1, force_emulation_prefix=1, halt_poll_ns=0: a
# halted vCPU blocks) and kvm_intel for the flavour named on the kernel
# command line (testbed.flavour=perf|mediated), run each PMU selftest in
# /tests/list, print the kernel log from the module load on, and power off.
# Everything goes to the serial console, between markers that
# scripts/testbed/testbed-run.sh parses:
#   TESTBED-INIT <flavour> <tree>          once per boot
#   TESTBED-PARAM <module>.<param>=<value>
#   TESTBED-TEST <test>                    before a test's own output (TAP)
#   TESTBED-RC <test> <exit status>        after it
#   TESTBED-KLOG-BEGIN / TESTBED-KLOG-END  the kernel log since module load
#   TESTBED-DONE                           before the power-off

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
exec < /dev/console > /dev/console 2>&1

flavour=perf
tree=unknown
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	testbed.flavour=*) flavour=${arg#*=} ;;
	testbed.tree=*) tree=${arg#*=} ;;
	esac
done
echo "TESTBED-INIT $flavour $tree"

# Kernel messages go to the log, not between the tests' lines: an oops or a
# panic still reaches the console (console_verbose()), WARNs and the like
# only the log, which is printed at the end (TESTBED-KLOG-*).
dmesg -n 1
echo "testbed: loading kvm and kvm_intel" > /dev/kmsg
case "$flavour" in
mediated) mediated=1 ;;
*) mediated=0 ;;
esac
for m in /lib/modules/deps/*.ko; do
	[ -e "$m" ] || continue
	insmod "$m" || echo "TESTBED-ERROR insmod ${m##*/} failed"
done
insmod /lib/modules/kvm.ko enable_pmu=1 force_emulation_prefix=1 halt_poll_ns=0 ||
	echo "TESTBED-ERROR insmod kvm.ko failed"
insmod /lib/modules/kvm-intel.ko enable_mediated_pmu=$mediated ||
	echo "TESTBED-ERROR insmod kvm-intel.ko failed"
for p in kvm/enable_pmu kvm/force_emulation_prefix kvm_intel/enable_mediated_pmu kvm_intel/enable_apicv; do
	echo "TESTBED-PARAM ${p%%/*}.${p#*/}=$(cat /sys/module/${p%%/*}/parameters/${p#*/} 2>/dev/null || echo missing)"
done

# kselftest TAP: one line per test (after its markers); the tests' own
# output, with the TAP lines of their subtests, is printed as it comes.
cd /tests
echo "TAP version 13"
echo "1..$(grep -c . /tests/list)"
n=0
while read -r t; do
	[ -n "$t" ] || continue
	n=$((n + 1))
	echo "TESTBED-TEST $t"
	if [ -x "./$t" ]; then
		"./$t" < /dev/null
		rc=$?
	else
		echo "TESTBED-ERROR $t is not in the initramfs"
		rc=127
	fi
	echo "TESTBED-RC $t $rc"
	case $rc in
	0) echo "ok $n $t" ;;
	4) echo "ok $n $t # SKIP" ;;
	*) echo "not ok $n $t # exit status $rc" ;;
	esac
done < /tests/list

echo "TESTBED-KLOG-BEGIN"
dmesg | sed -n '/testbed: loading kvm and kvm_intel/,$p'
echo "TESTBED-KLOG-END"
echo "TESTBED-DONE"
# Let the serial port drain before the power-off cuts it: a busy loop, as
# an idle emulated CPU may sleep for long (seen with corei7_skylake_x).
i=0
while [ $i -lt 30000 ]; do
	i=$((i + 1))
done
poweroff -f
