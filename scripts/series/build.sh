#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the patched tree: arch/x86/kvm/ and arch/x86/events/ with W=1
# (KVM_WERROR=y from the configuration) and the KVM selftests, then print
# where the tree, the objects and the selftest binaries are.  Needs
# "make apply" and "make config" first (the Makefile runs them).

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

lock_cache
resolve_base
[ -f "$STAMPS/config" ] || die "the series tree is not configured: run 'make config'"
mkdir -p "$BUILD_DIR/logs"

step "build arch/x86/kvm/ and arch/x86/events/ (W=1, KVM_WERROR=y)"
build_kdirs "$BUILD_DIR/logs/kernel.log" arch/x86/kvm/ arch/x86/events/ ||
	die "kernel build failed; full log: $BUILD_DIR/logs/kernel.log"
step_done

step "build the KVM selftests"
build_selftests "$BUILD_DIR/logs/selftests.log" ||
	die "selftests build failed; full log: $BUILD_DIR/logs/selftests.log"
step_done

step "build the hardware kit's benchmark (scripts/hw-kit/hw-bench/)"
build_hw_bench "$BUILD_DIR/logs/hw-bench.log" ||
	die "scripts/hw-kit/hw-bench/x86/pmu_access_cost_bench.c does not build with the series' selftests; full log: $BUILD_DIR/logs/hw-bench.log"
step_done

n=$(git -C "$SERIES_TREE" rev-list --count "$BASE_REV..HEAD")
cat <<MSG
Patched tree:     $SERIES_TREE (branch $SERIES_BRANCH, $n patches on $BASE_DESC)
Kernel objects:   $OBJ (KVM modules: $OBJ/arch/x86/kvm/)
Build logs:       $BUILD_DIR/logs/
Selftests:        $SELFTEST_OUT/x86/ (e.g. $SELFTEST_OUT/x86/pmu_counters_test)
MSG
