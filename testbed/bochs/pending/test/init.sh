#!/bin/busybox sh
# /init of the test initramfs: run /pmu-test (unless the kernel command
# line says pmutest=skip, for boot timing) and power off.
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec < /dev/console > /dev/console 2>&1

run=1
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	pmutest=skip) run=0 ;;
	esac
done

echo "PMU-TEST-BEGIN"
if [ "$run" = 1 ]; then
	dmesg | grep -i -E "perf|pmu|arch_perfmon" | head -20
	/pmu-test
	echo "PMU-TEST-RC $?"
	if [ -e /lib/modules/kvm.ko ]; then
		for m in /lib/modules/deps/*.ko; do
			[ -e "$m" ] && insmod "$m"
		done
		insmod /lib/modules/kvm.ko enable_pmu=1
		insmod /lib/modules/kvm-intel.ko $(cat /lib/modules/kvm-intel.params)
		for p in kvm/enable_pmu kvm_intel/enable_mediated_pmu; do
			echo "PMU-PARAM $p=$(cat /sys/module/$p 2>/dev/null || cat /sys/module/${p%%/*}/parameters/${p#*/} 2>/dev/null)"
		done
		for t in $(cat /tests/list 2>/dev/null); do
			echo "PMU-SELFTEST $t"
			/tests/$t < /dev/null
			echo "PMU-SELFTEST-RC $t $?"
		done
	fi
fi
echo "PMU-TEST-END"
poweroff -f
