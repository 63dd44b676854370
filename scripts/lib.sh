# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034
#
# Common definitions for the workbench scripts.  Sourced, never executed:
# paths of the cache, the base tree and the build trees, and small helpers
# for messages, timing and check results.  (SC2034 is disabled above:
# the variables defined here are used by the scripts that source this.)

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${KVM_PMU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvm-pmu-v5}
JOBS=${JOBS:-$(nproc)}

# The Debian base: its git repository and what was imported into it.
BASE_DIR=$CACHE/base
BASE_REPO=$BASE_DIR/linux
BASE_ENV=$BASE_DIR/base.env
BASE_STAMP=$BASE_DIR/complete

# Branch names created in the base repository (or in KERNEL_SRC).
SERIES_BRANCH=kvm-pmu-v5/series
WORK_BRANCH=kvm-pmu-v5/work

PROG=${0##*/}

msg()  { printf '%s: %s\n' "$PROG" "$*" >&2; }
die()  { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

# Print a step banner and remember when it started; step_done prints
# the time it took.
step() {
	STEP_NAME=$*
	STEP_T0=$(date +%s)
	printf '==> %s\n' "$STEP_NAME" >&2
}

step_done() {
	local dt=$(( $(date +%s) - STEP_T0 ))

	printf '<== %s (%ds)\n' "$STEP_NAME" "$dt" >&2
	if [ -n "${KVM_PMU_TIMES:-}" ]; then
		printf '%s\t%s\n' "$dt" "$STEP_NAME" >> "$KVM_PMU_TIMES"
	fi
}

need_cmd() {
	local cmd=$1 pkg=$2

	command -v "$cmd" >/dev/null 2>&1 ||
		die "'$cmd' not found: install the Debian package '$pkg' (or run 'make deps')"
}

# Serialise runs that share the cache; the lock is released on exit.
lock_cache() {
	mkdir -p "$CACHE"
	exec 9>"$CACHE/lock"
	if ! flock -n 9; then
		msg "waiting for another run holding $CACHE/lock"
		flock 9
	fi
}

# Where the base comes from: the Debian import, or the user's KERNEL_SRC.
# Sets SRC_REPO (git repository holding the base), BASE_REV (commit the
# series applies to), BASE_DESC (the cover letter's base line) and
# BUILD_DIR (worktrees and objects for this base).
resolve_base() {
	if [ -n "${KERNEL_SRC:-}" ]; then
		git -C "$KERNEL_SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
			die "KERNEL_SRC=$KERNEL_SRC is not a git work tree"
		SRC_REPO=$(git -C "$KERNEL_SRC" rev-parse --show-toplevel)
		if [ -n "$(git -C "$SRC_REPO" status --porcelain --untracked-files=no)" ]; then
			die "KERNEL_SRC=$SRC_REPO has uncommitted changes: commit or stash them first"
		fi
		BASE_REV=$(git -C "$SRC_REPO" rev-parse 'HEAD^{commit}')
		BASE_DESC="base-commit: $BASE_REV"
		BUILD_DIR=$CACHE/ksrc-$(printf '%s' "$SRC_REPO" | sha1sum | cut -c1-12)
		WORK_TREE=$BUILD_DIR/work
	else
		[ -f "$BASE_STAMP" ] ||
			die "no Debian base in $BASE_DIR: run 'make base' first"
		# shellcheck source=/dev/null
		. "$BASE_ENV"
		SRC_REPO=$BASE_REPO
		BASE_REV=$(git -C "$SRC_REPO" rev-parse 'base^{commit}')
		BASE_DESC="base: upstream v$UPSTREAM_VERSION (Debian linux-source-$DEB_SERIES $DEB_VERSION)"
		BUILD_DIR=$CACHE/build-debian
		WORK_TREE=$CACHE/work
	fi
	SERIES_TREE=$BUILD_DIR/src
	OBJ=$BUILD_DIR/obj
	SELFTEST_OUT=$BUILD_DIR/selftests
	STAMPS=$BUILD_DIR/stamps
}

# The patches of the series, in order, as listed by the quilt series file.
series_patches() {
	series_patches_in "$TOP"
}

# The same for the directory $1, which holds "series" and "patches/".
series_patches_in() {
	local dir=$1 line

	[ -f "$dir/series" ] || die "$dir/series is missing"
	while IFS= read -r line; do
		line=${line%%#*}
		line=${line%"${line##*[![:space:]]}"}
		[ -n "$line" ] || continue
		printf '%s\n' "$dir/patches/${line#patches/}"
	done < "$dir/series"
}

# A hash of everything that determines the applied series.
series_hash() {
	{
		printf '%s\n' "$BASE_REV"
		series_patches | while IFS= read -r p; do
			[ -f "$p" ] || die "$TOP/series lists $p, which does not exist"
			sha1sum < "$p"
		done
	} | sha1sum | cut -c1-40
}

# Kernel make in the series tree with the objects in $OBJ.
kmake() {
	make -C "$SERIES_TREE" O="$OBJ" ARCH=x86_64 "$@"
}

# Build kernel directories (e.g. arch/x86/kvm/) with W=1; the output goes
# to $1.  On failure print the compiler errors and return non-zero.
build_kdirs() {
	local log=$1

	shift
	if ! kmake -s W=1 -j"$JOBS" "$@" > "$log" 2>&1; then
		grep -E -B2 -A6 'error:|Error [0-9]' "$log" | sed -n '1,60p' >&2 ||
			tail -n 40 "$log" >&2
		return 1
	fi
}

# Build the KVM selftests out of tree, against the series tree's uapi
# headers; the output goes to $1.
build_selftests() {
	local log=$1

	{
		kmake -s headers &&
		make -C "$SERIES_TREE/tools/testing/selftests/kvm" -j"$JOBS" \
			OUTPUT="$SELFTEST_OUT" KHDR_INCLUDES="-isystem $OBJ/usr/include" &&
		git -C "$SERIES_TREE" rev-parse HEAD > "$SELFTEST_OUT/.source-commit"
	} > "$log" 2>&1 || {
		grep -E -B2 -A6 'error:|Error [0-9]' "$log" | sed -n '1,60p' >&2 ||
			tail -n 40 "$log" >&2
		return 1
	}
}

# build_hw_bench LOG: build the hardware kit's benchmark
# (scripts/hw-kit/hw-bench/x86/pmu_access_cost_bench.c) with the series tree's KVM
# selftests library, into $SELFTEST_OUT next to the selftests.
build_hw_bench() {
	local log=$1

	make -C "$SERIES_TREE/tools/testing/selftests/kvm" -f "$TOP/scripts/hw-kit/hw-bench/bench.mk" \
		HW_BENCH_DIR="$TOP/scripts/hw-kit/hw-bench" OUTPUT="$SELFTEST_OUT" \
		KHDR_INCLUDES="-isystem $OBJ/usr/include" \
		"$SELFTEST_OUT/x86/pmu_access_cost_bench" > "$log" 2>&1 || {
		grep -E -B2 -A6 'error:|Error [0-9]' "$log" | sed -n '1,60p' >&2 ||
			tail -n 40 "$log" >&2
		return 1
	}
}

# Compiler warnings of a build log as "file: warning: message", without
# line numbers (so that shifted lines are not new warnings) and with paths
# relative to the source tree; sorted and unique.
warnings_of() {
	sed -n -E 's#^([^ :]+):[0-9]+:([0-9]+:)? (warning|error): (.*)$#\1: \3: \4#p' "$1" |
		sed -E -e "s#^$SERIES_TREE/##" -e 's#^(\.\./)+src/##' -e 's#^\./##' |
		sort -u
}

# The sparse binary the checks use: the one built into the cache by
# deps.sh when the installed sparse is too old for the kernel.
sparse_bin() {
	if [ -x "$CACHE/tools/sparse/sparse" ]; then
		printf '%s\n' "$CACHE/tools/sparse/sparse"
	else
		command -v sparse
	fi
}

# Record one check result: report pass|fail|skip NAME [DETAIL...].  The
# line is printed, and appended to $CHECK_RESULTS for the final count.
report() {
	local status=$1 name=$2 word

	shift 2
	case "$status" in
	pass) word="PASS" ;;
	fail) word="FAIL" ;;
	skip) word="SKIP" ;;
	*) die "report: bad status '$status'" ;;
	esac
	if [ $# -gt 0 ]; then
		printf '%s: %s -- %s\n' "$word" "$name" "$*"
	else
		printf '%s: %s\n' "$word" "$name"
	fi
	if [ -n "${CHECK_RESULTS:-}" ]; then
		printf '%s\t%s\n' "$status" "$name" >> "$CHECK_RESULTS"
	fi
}

# Indent standard input (excerpts under a check result).
indent() {
	sed 's/^/    /'
}

# Commits of the applied series, oldest first.
series_commits() {
	git -C "$SERIES_TREE" rev-list --reverse "$BASE_REV..HEAD"
}

# The testbed (an emulated Intel host, see Documentation/testing.md): its
# cache directory, and the directory of its configuration in the repo.
TESTBED_DIR=${KVM_PMU_TESTBED:-$CACHE/testbed}
TESTBED_SRC=$TOP/testbed

# The testbed's Bochs, built from the pinned upstream commit
# (testbed/bochs/pin) with the project's patches (testbed/bochs/*.patch) by
# scripts/testbed/build-bochs.sh: installed in $BOCHS_DIR, whose "key" file
# (written last) is bochs_key of what it was built from.
BOCHS_DIR=$CACHE/tools/bochs

# The patches of the testbed's Bochs, in order (none is fine).
bochs_patches() {
	local p

	for p in "$TESTBED_SRC"/bochs/*.patch; do
		[ -f "$p" ] && printf '%s\n' "$p"
	done
	return 0
}

# A hash of everything a Bochs build is made from: the pin, the patches
# (names and contents) and the build script (configure flags included).
bochs_key() {
	local p

	{
		sha256sum < "$TESTBED_SRC/bochs/pin"
		sha256sum < "$TOP/scripts/testbed/build-bochs.sh"
		bochs_patches | while IFS= read -r p; do
			printf '%s ' "${p##*/}"
			sha256sum < "$p"
		done
	} | sha256sum | cut -c1-40
}

# Check that $BOCHS_DIR holds the Bochs that the pin and the patches make.
need_bochs() {
	local key

	{ [ -f "$BOCHS_DIR/key" ] && [ -x "$BOCHS_DIR/bin/bochs" ]; } ||
		die "no Bochs built in $BOCHS_DIR: run 'make deps' (with BOCHS_SRC=<Bochs tarball or clone>, see testbed/bochs/README)"
	key=$(bochs_key)
	[ "$(cat "$BOCHS_DIR/key")" = "$key" ] ||
		die "the Bochs in $BOCHS_DIR was built from another pin, patch set or build script: run 'make deps'"
}

# The host's Debian mirror, for downloads with a private apt configuration:
# KVM_PMU_MIRROR, else the first URI of the machine's own apt sources
# (deb822 "URIs:" or a sources.list "deb" line) that serves Debian.
debian_mirror() {
	local uri f

	if [ -n "${KVM_PMU_MIRROR:-}" ]; then
		printf '%s\n' "${KVM_PMU_MIRROR%/}"
		return 0
	fi
	for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		case "$f" in
		*.sources)
			uri=$(sed -n -E 's/^URIs:[[:space:]]*([^[:space:]]+).*/\1/p' "$f" |
				grep -E '/debian/?$' | sed -n '1,1p') || true ;;
		*)
			uri=$(sed -n -E 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p' "$f" |
				grep -E '/debian/?$' | sed -n '1,1p') || true ;;
		esac
		if [ -n "$uri" ]; then
			printf '%s\n' "${uri%/}"
			return 0
		fi
	done
	die "no Debian mirror in the machine's apt configuration (/etc/apt/sources.list, /etc/apt/sources.list.d/): set KVM_PMU_MIRROR=<URL of a Debian mirror>"
}

# The commit of a testbed kernel tree: the commit $1 of the base repository
# with the testbed-only change (testbed/shim.patch) on top, made without a
# checkout, so that moving a worktree between two such commits rewrites
# only the files that differ.  Prints the new commit.
testbed_commit() {
	local rev=$1 idx tree

	idx=$(mktemp)
	GIT_INDEX_FILE=$idx git -C "$SRC_REPO" read-tree "$rev"
	if ! GIT_INDEX_FILE=$idx git -C "$SRC_REPO" apply --cached "$TESTBED_SRC/shim.patch" 2>"$idx.err"; then
		cat "$idx.err" >&2
		rm -f "$idx" "$idx.err"
		die "testbed/shim.patch does not apply to $rev"
	fi
	tree=$(GIT_INDEX_FILE=$idx git -C "$SRC_REPO" write-tree)
	rm -f "$idx" "$idx.err"
	GIT_AUTHOR_NAME=testbed GIT_AUTHOR_EMAIL=testbed@localhost \
	GIT_COMMITTER_NAME=testbed GIT_COMMITTER_EMAIL=testbed@localhost \
	GIT_AUTHOR_DATE="@0 +0000" GIT_COMMITTER_DATE="@0 +0000" \
		git -C "$SRC_REPO" commit-tree "$tree" -p "$rev" \
		-m "testbed only: read PMCs with RDMSR (testbed/shim.patch)"
}
