# SPDX-License-Identifier: GPL-2.0
#
# Workbench for the "KVM: x86/pmu: PerfMon v5" series.  See README.md.
#
#   make            fetch the base, apply the series, configure, build
#                   arch/x86/kvm + arch/x86/events (W=1) and the KVM selftests
#   make check      the test command: every check that runs without Intel
#                   PMU hardware, ending with "N passed, N failed, N skipped"
#   make kernel     bzImage + modules of the patched tree (for a test host)
#   make testbed    the PMU selftests on the base and the patched KVM in an
#                   emulated Intel host (Bochs): emulated results
#   make testbed-mutants  break each feature once (testbed/mutants/) and
#                   show the testbed subtest that catches it
#   make hw-test    the PMU selftests in both vPMU modes, with a TAP file
#                   and a report: on an Intel PerfMon v4+ host booted into
#                   the patched kernel, as root
#   make work       work branch with the series applied, for editing
#   make export     regenerate patches/, series and the per-file views
#   make send       prepare the mails (To/Cc from get_maintainer.pl), dry run
#
# Variables (environment or command line): KERNEL_SRC=/path/to/linux (use
# that git tree as the base instead of Debian's), KVM_PMU_CACHE (cache
# directory), KCONFIG_BASE (starting .config), JOBS (parallel jobs),
# SEND=yes, SEND_DIR, SEND_TO, SEND_CC (make send), SELFTESTS_DIR,
# HW_TEST_OUT, HW_TEST_MODES, HW_TEST_TESTS, HW_TEST_TIMEOUT (make hw-test),
# TESTBED_RUNS, TESTBED_JOBS, TESTBED_TIMEOUT, KVM_PMU_TESTBED (make testbed),
# KVM_PMU_MIRROR (Debian mirror; default: the machine's apt sources),
# BOCHS_SRC (the testbed's Bochs: tarball or clone at the pinned commit,
# testbed/bochs/README; default: fetched from upstream).

SHELL := /bin/bash
S := scripts

export KERNEL_SRC KVM_PMU_CACHE KCONFIG_BASE JOBS SEND SEND_DIR SEND_TO SEND_CC
export SELFTESTS_DIR HW_TEST_OUT HW_TEST_MODES HW_TEST_TESTS HW_TEST_TIMEOUT
export TESTBED_RUNS TESTBED_JOBS TESTBED_TIMEOUT KVM_PMU_TESTBED KVM_PMU_MIRROR BOCHS_SRC

.PHONY: all deps base apply config build kernel check export work send \
	hw-test testbed testbed-mutants clean clean-work distclean help

all: build

deps:
	@$(S)/deps.sh

base: deps
	@if [ -z "$(KERNEL_SRC)" ]; then $(S)/series/fetch-base.sh; fi

apply: base
	@$(S)/series/apply-series.sh

config: apply
	@$(S)/series/configure.sh

build: config
	@$(S)/series/build.sh

kernel: config
	@$(S)/series/build-kernel.sh

check:
	@$(S)/checks/check.sh

# The emulated Intel host (Bochs): base and series, emulated results.
testbed: apply
	@$(S)/testbed/testbed.sh

# Each mutant of testbed/mutants/ on the testbed (not part of make check).
testbed-mutants: apply
	@$(S)/testbed/testbed-mutants.sh

# On an Intel test host booted into the patched kernel, as root.
hw-test:
	@$(S)/hw-kit/hw-test.sh

work: base
	@$(S)/series/work.sh

export:
	@$(S)/series/export.sh

# Prepare the mails (dry run); SEND=yes sends them, asking for each.
send: apply
	@$(S)/series/send.sh

# Build trees and objects; the base import and the tools stay.
clean:
	@$(S)/clean.sh build

# The work tree (unexported commits are lost).
clean-work:
	@$(S)/clean.sh work

# The whole cache, base included.
distclean:
	@$(S)/clean.sh all

help:
	@sed -n '3,30s/^# \{0,1\}//p' Makefile
