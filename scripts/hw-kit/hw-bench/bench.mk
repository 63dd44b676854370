# SPDX-License-Identifier: GPL-2.0
#
# Build the hardware kit's benchmark (x86/pmu_access_cost_bench.c here) with
# a kernel tree's KVM selftests, without copying it into that tree:
#
#   make -C <tree>/tools/testing/selftests/kvm -f <this file> \
#        HW_BENCH_DIR=<this directory> OUTPUT=<dir> KHDR_INCLUDES=... \
#        <dir>/x86/pmu_access_cost_bench
#
# The selftests' own rules build it as an extra x86 program; vpath finds
# its source here.
TEST_GEN_PROGS_EXTENDED_x86 += x86/pmu_access_cost_bench
vpath %.c $(HW_BENCH_DIR)
include Makefile
