#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Make the boot image of one testbed run: an ISO (grub-mkrescue) holding
# the tree's testbed kernel and an initramfs with busybox (the init is
# testbed/init.sh), that kernel's kvm.ko and kvm-intel.ko, the selftests of
# testbed/tests (built by testbed-selftests.sh) and the shared libraries
# they need.  The kernel command line names the flavour (perf: the
# perf-based vPMU; mediated: kvm_intel.enable_mediated_pmu=1).
#
# Usage: testbed-image.sh base|series|mutant-NAME perf|mediated
# (a mutant's tree is made by testbed-mutants.sh)
# Output: $TESTBED_DIR/<tree>/<flavour>.iso

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

tree=${1:-}
flavour=${2:-}
case "$tree" in
base|series|mutant-*) ;;
*) die "usage: $PROG base|series|mutant-NAME perf|mediated" ;;
esac
case "$flavour" in
perf|mediated) ;;
*) die "usage: $PROG base|series|mutant-NAME perf|mediated" ;;
esac
need_cmd cpio cpio
need_cmd gzip gzip
need_cmd grub-mkrescue grub-common
need_cmd xorriso xorriso
need_cmd mformat mtools
[ -d /usr/lib/grub/i386-pc ] || die "/usr/lib/grub/i386-pc is missing: install the Debian package 'grub-pc-bin' (or run 'make deps')"
bb=$CACHE/tools/busybox/bin/busybox
# The applet list is read whole before grep looks at it: a pipe into
# "grep -q" fails under pipefail when grep exits before busybox has written
# its list (SIGPIPE).
if ! { [ -x "$bb" ] && grep -qx poweroff <<< "$("$bb" --list 2>/dev/null)"; }; then
	die "$bb is missing or has no poweroff applet: run 'make deps' (it unpacks Debian's busybox-static there)"
fi
if ldd "$bb" >/dev/null 2>&1; then
	die "$bb is dynamically linked: run 'make deps' (it unpacks Debian's busybox-static there)"
fi

dir=$TESTBED_DIR/$tree
st=$TESTBED_DIR/selftests
for f in "$dir/bzImage" "$dir/kvm.ko" "$dir/kvm-intel.ko"; do
	[ -f "$f" ] || die "$f is missing: build the $tree testbed kernel first (scripts/testbed/testbed-kernel.sh, or testbed-mutants.sh for a mutant)"
done
mapfile -t tests < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$TESTBED_SRC/tests")

root=$(mktemp -d "$TESTBED_DIR/image.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/initrd/bin" "$root/initrd/lib/modules" "$root/initrd/tests" \
	"$root/iso/boot/grub"
cp "$bb" "$root/initrd/bin/busybox"
cp "$TESTBED_SRC/init.sh" "$root/initrd/init"
chmod 755 "$root/initrd/init"
cp "$dir/kvm.ko" "$dir/kvm-intel.ko" "$root/initrd/lib/modules/"
mkdir -p "$root/initrd/lib/modules/deps"
cp "$dir"/deps/*.ko "$root/initrd/lib/modules/deps/" 2>/dev/null || true
for t in "${tests[@]}"; do
	[ -x "$st/$t" ] || die "selftest $st/$t is missing: run scripts/testbed/testbed-selftests.sh"
	mkdir -p "$root/initrd/tests/${t%/*}"
	cp "$st/$t" "$root/initrd/tests/$t"
	printf '%s\n' "$t" >> "$root/initrd/tests/list"
	# The shared libraries it needs, at the paths the dynamic loader uses.
	while IFS= read -r lib; do
		[ -e "$root/initrd$lib" ] && continue
		mkdir -p "$root/initrd${lib%/*}"
		cp -L "$lib" "$root/initrd$lib"
	done < <(ldd "$st/$t" | sed -n -E 's#^[[:space:]]*([^[:space:]]+ => )?(/[^[:space:]]+) \(0x.*#\2#p')
done
[ -e "$root/initrd/lib64/ld-linux-x86-64.so.2" ] ||
	die "the initramfs has no /lib64/ld-linux-x86-64.so.2 (ldd of the selftests found no loader)"
(cd "$root/initrd" && find . | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible) |
	gzip -n -1 > "$root/iso/boot/initrd.gz"
cp "$dir/bzImage" "$root/iso/boot/bzImage"
cat > "$root/iso/boot/grub/grub.cfg" <<CFG
set timeout=0
set default=0
menuentry "testbed $tree $flavour" {
	linux /boot/bzImage console=ttyS0,115200 earlyprintk=serial,ttyS0,115200 panic=-1 loglevel=7 nokaslr mitigations=off noxsave nmi_watchdog=0 testbed.flavour=$flavour testbed.tree=$tree
	initrd /boot/initrd.gz
}
CFG
if ! grub-mkrescue -o "$root/out.iso" "$root/iso" > "$root/mkrescue.log" 2>&1; then
	cat "$root/mkrescue.log" >&2
	die "grub-mkrescue failed for the $tree/$flavour image"
fi
mv "$root/out.iso" "$dir/$flavour.iso"
msg "image: $dir/$flavour.iso"
