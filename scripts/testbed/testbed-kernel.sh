#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the L1 ("host") kernel of the testbed for one tree: "base" (the
# base) or "series" (base + the series, as "make apply" left it), each
# with the testbed-only change testbed/shim.patch on top (PMC reads by
# RDMSR; never part of the series).  The configuration is "make
# tinyconfig" plus testbed/kconfig.  Output in $TESTBED_DIR/<tree>/:
# bzImage, kvm.ko, kvm-intel.ko, deps/ (the modules kvm.ko needs), kernel.id
# (what was built).
#
# The worktree and the objects are kept, so a change to one KVM patch
# rebuilds only the KVM modules.  The compiler runs under ccache, whose
# cache ($CACHE/ccache) both trees share: the two worktrees have the same
# layout under $TESTBED_DIR (the ccache base directory), so a file whose
# preprocessed source is the same in base and series (most of the kernel,
# even where make rebuilds it for a changed header) is compiled once.
#
# Usage: testbed-kernel.sh base|series

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

tree=${1:-}
case "$tree" in
base|series) ;;
*) die "usage: $PROG base|series" ;;
esac

need_cmd git git
need_cmd make make
need_cmd modinfo kmod
resolve_base
[ -f "$TESTBED_SRC/shim.patch" ] || die "$TESTBED_SRC/shim.patch is missing"
[ -f "$TESTBED_SRC/kconfig" ] || die "$TESTBED_SRC/kconfig is missing"

if [ "$tree" = base ]; then
	rev=$BASE_REV
else
	[ -f "$STAMPS/applied" ] || die "the series is not applied in $SERIES_TREE: run 'make apply'"
	rev=$(git -C "$SERIES_TREE" rev-parse HEAD)
fi

dir=$TESTBED_DIR/$tree
src=$dir/src
obj=$dir/obj
mkdir -p "$dir"
exec 8>"$dir/lock"
flock 8

commit=$(testbed_commit "$rev")
if [ ! -e "$src/.git" ]; then
	git -C "$SRC_REPO" worktree prune
	rm -rf "$src"
	git -C "$SRC_REPO" worktree add -q --detach "$src" "$commit"
else
	# Only the files that differ from the last build are rewritten.
	git -C "$src" checkout -q -f --detach "$commit"
	git -C "$src" clean -q -f -d
fi

# The configuration: tinyconfig + the fragment, kept while both are the same.
ckey=$(cat "$TESTBED_SRC/kconfig" <(git -C "$src" ls-tree -r HEAD | grep -E 'Kconfig[^/]*$') | sha1sum | cut -c1-40)
# A fixed build identity, so that an unchanged tree gives the same bzImage
# (the run results are keyed on it).
export KBUILD_BUILD_TIMESTAMP="1970-01-01 00:00:00 UTC" KBUILD_BUILD_USER=testbed \
	KBUILD_BUILD_HOST=testbed KBUILD_BUILD_VERSION=1
export CCACHE_DIR=$CACHE/ccache CCACHE_BASEDIR=$TESTBED_DIR CCACHE_NOHASHDIR=1 \
	CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-4G}
need_cmd ccache ccache
tmake() { make -C "$src" O="$obj" ARCH=x86_64 CC="ccache gcc" "$@"; }
mkdir -p "$obj"
if [ "$(cat "$dir/config.key" 2>/dev/null)" != "$ckey" ] || [ ! -f "$obj/.config" ]; then
	rm -f "$dir/config.key"
	step "testbed: configure the $tree kernel (tinyconfig + testbed/kconfig)"
	tmake -s tinyconfig > "$dir/config.log" 2>&1 ||
		{ tail -n 20 "$dir/config.log" >&2; die "make tinyconfig failed in $src"; }
	KCONFIG_CONFIG=$obj/.config "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" \
		"$obj/.config" "$TESTBED_SRC/kconfig" >> "$dir/config.log" 2>&1 ||
		{ tail -n 20 "$dir/config.log" >&2; die "merging testbed/kconfig failed"; }
	tmake -s olddefconfig >> "$dir/config.log" 2>&1 ||
		{ tail -n 20 "$dir/config.log" >&2; die "make olddefconfig failed in $src"; }
	# Kconfig drops a symbol whose dependencies are not met: name each.
	bad=
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=n) if grep -qE "^${line%=n}=[ym]" "$obj/.config"; then
				msg "testbed/kconfig: $line, but $obj/.config has $(grep -E "^${line%=n}=" "$obj/.config")"
				bad=1
			fi ;;
		CONFIG_*=*) grep -qxF "$line" "$obj/.config" ||
			{ msg "testbed/kconfig: $line is not in $obj/.config (unmet dependencies?)"; bad=1; } ;;
		esac
	done < <(grep -E '^CONFIG_' "$TESTBED_SRC/kconfig")
	[ -z "$bad" ] || die "the testbed kernel configuration lacks symbols of testbed/kconfig"
	printf '%s\n' "$ckey" > "$dir/config.key"
	step_done
fi

step "testbed: build the $tree kernel (bzImage, kvm.ko, kvm-intel.ko)"
ccache -z > /dev/null
if ! tmake -s -j"$JOBS" bzImage modules > "$dir/build.log" 2>&1; then
	grep -E -B2 -A6 'error:|Error [0-9]' "$dir/build.log" | sed -n '1,60p' >&2 || tail -n 30 "$dir/build.log" >&2
	die "the $tree testbed kernel does not build (log: $dir/build.log)"
fi
for f in arch/x86/boot/bzImage arch/x86/kvm/kvm.ko arch/x86/kvm/kvm-intel.ko; do
	[ -f "$obj/$f" ] || die "the $tree testbed kernel build left no $obj/$f"
done
cp "$obj/arch/x86/boot/bzImage" "$obj/arch/x86/kvm/kvm.ko" "$obj/arch/x86/kvm/kvm-intel.ko" "$dir/"
# The modules kvm.ko needs (irqbypass.ko), loaded before it.
rm -rf "$dir/deps"
mkdir -p "$dir/deps"
for m in $(modinfo -F depends "$obj/arch/x86/kvm/kvm.ko" | tr , ' '); do
	f=$(grep -E "(^|/)${m//_/[-_]}\.o\$" "$obj/modules.order" | sed -n '1,1p') || true
	{ [ -n "$f" ] && [ -f "$obj/${f%.o}.ko" ]; } || die "kvm.ko needs the module $m, which the $tree testbed kernel did not build"
	cp "$obj/${f%.o}.ko" "$dir/deps/"
done
{
	printf 'tree=%s\n' "$tree"
	printf 'rev=%s\n' "$rev"
	printf 'testbed_commit=%s\n' "$commit"
	printf 'source_tree=%s\n' "$(git -C "$src" rev-parse 'HEAD^{tree}')"
	printf 'config=%s\n' "$ckey"
	printf 'release=%s\n' "$(tmake -s kernelrelease)"
	printf 'gcc=%s\n' "$(gcc -dumpfullversion)"
} > "$dir/kernel.id"
step_done
stats=$(ccache --print-stats 2>/dev/null) || true
ccstat() { local v; v=$(sed -n "s/^$1[[:space:]]//p" <<< "$stats"); printf '%s' "${v:-0}"; }
msg "$tree kernel: $dir/bzImage, modules $dir/kvm.ko $dir/kvm-intel.ko (ccache: $(( $(ccstat direct_cache_hit) + $(ccstat preprocessed_cache_hit) )) hits, $(ccstat cache_miss) misses)"
