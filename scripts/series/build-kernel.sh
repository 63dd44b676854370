#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a bootable kernel (bzImage + modules) of the patched tree, for an
# Intel test host.  Use KCONFIG_BASE=/boot/config-$(uname -r) on the host
# (passed to "make config") so that the kernel has the host's drivers.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

lock_cache
resolve_base
[ -f "$STAMPS/config" ] || die "the series tree is not configured: run 'make config'"
mkdir -p "$BUILD_DIR/logs"

step "build bzImage and modules of the patched tree (this takes a while)"
if ! kmake -s -j"$JOBS" bzImage modules > "$BUILD_DIR/logs/kernel-full.log" 2>&1; then
	grep -E -B2 -A6 'error:|Error [0-9]' "$BUILD_DIR/logs/kernel-full.log" | sed -n '1,60p' >&2 || true
	die "kernel build failed; full log: $BUILD_DIR/logs/kernel-full.log"
fi
git -C "$SERIES_TREE" rev-parse HEAD > "$OBJ/.source-commit"
step_done
cat <<MSG
Kernel:  $OBJ/arch/x86/boot/bzImage ($(kmake -s kernelrelease))
Modules: $OBJ (install on the test host with:
         make -C $SERIES_TREE O=$OBJ modules_install install)
MSG
