#!/bin/sh
# Make a bootable ISO (grub-mkrescue) with a Linux bzImage and an
# initramfs holding a static busybox, init.sh and pmu-test.
#
# Usage: make-iso.sh BZIMAGE BUSYBOX OUT.iso [skip]
#   skip: the init powers off without running pmu-test (boot timing)
# With KVM_DIR set (a directory holding kvm.ko, kvm-intel.ko and deps/*.ko
# of that kernel) and SELFTESTS set (KVM selftest binaries), the init also
# loads KVM and runs those selftests (KVM_PARAMS: kvm_intel parameters).
# Needs: gcc (static libc), cpio, gzip, grub-mkrescue (grub-pc-bin),
# xorriso, mtools.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bzimage=$1 busybox=$2 out=$3 mode=${4:-run}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/initrd/bin" "$tmp/iso/boot/grub"
gcc -static -O2 -Wall -o "$tmp/initrd/pmu-test" "$here/pmu-test.c"
cp "$busybox" "$tmp/initrd/bin/busybox"
cp "$here/init.sh" "$tmp/initrd/init"
if [ -n "${KVM_DIR:-}" ]; then
	mkdir -p "$tmp/initrd/lib/modules/deps" "$tmp/initrd/tests"
	cp "$KVM_DIR/kvm.ko" "$KVM_DIR/kvm-intel.ko" "$tmp/initrd/lib/modules/"
	cp "$KVM_DIR"/deps/*.ko "$tmp/initrd/lib/modules/deps/" 2>/dev/null || true
	echo "${KVM_PARAMS:-}" > "$tmp/initrd/lib/modules/kvm-intel.params"
	for t in ${SELFTESTS:-}; do
		cp "$t" "$tmp/initrd/tests/"
		echo "${t##*/}" >> "$tmp/initrd/tests/list"
		ldd "$t" | sed -n -E 's#^[[:space:]]*([^[:space:]]+ => )?(/[^[:space:]]+) \(0x.*#\2#p' |
		while read -r lib; do
			mkdir -p "$tmp/initrd${lib%/*}"
			cp -L "$lib" "$tmp/initrd$lib"
		done
	done
fi
chmod 755 "$tmp/initrd/init"
(cd "$tmp/initrd" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 > "$tmp/iso/boot/initrd.gz"
cp "$bzimage" "$tmp/iso/boot/bzImage"
extra=
[ "$mode" = skip ] && extra=pmutest=skip
cat > "$tmp/iso/boot/grub/grub.cfg" <<CFG
set timeout=0
set default=0
menuentry "pmu-test" {
	linux /boot/bzImage console=ttyS0,115200 earlyprintk=serial,ttyS0 panic=-1 loglevel=7 nokaslr mitigations=off noxsave nmi_watchdog=0 $extra
	initrd /boot/initrd.gz
}
CFG
grub-mkrescue -o "$out" "$tmp/iso" > "$tmp/mkrescue.log" 2>&1 || { cat "$tmp/mkrescue.log" >&2; exit 1; }
echo "$out"
