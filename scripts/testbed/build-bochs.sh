#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the testbed's Bochs into the cache ($BOCHS_DIR): upstream Bochs at
# the commit pinned in testbed/bochs/pin, with the project's patches
# (testbed/bochs/*.patch, in name order) applied, configured for the
# testbed (below).  Run by deps.sh ("make deps"); does nothing when
# $BOCHS_DIR/key already matches (bochs_key in lib.sh).
#
# Where the source comes from, BOCHS_SRC:
#   - a tarball: its sha256 must be the pinned BOCHS_TARBALL_SHA256 (the
#     "git archive" of the pinned commit that CI passes);
#   - a git clone of Bochs: its HEAD must be the pinned commit and its
#     tracked files unmodified (the commit is exported, the clone is not
#     touched);
#   - unset: the pinned commit is fetched from BOCHS_URL into the cache;
#     where that fails, the error names BOCHS_SRC and the URL.
# Anything else is refused, naming what was expected.  The build happens in
# a temporary directory and is moved into place only when it is complete,
# so a failed or interrupted build is never reused.
#
# Usage: build-bochs.sh

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

PIN=$TESTBED_SRC/bochs/pin
[ -f "$PIN" ] || die "$PIN is missing"
BOCHS_COMMIT=$(sed -n 's/^BOCHS_COMMIT=//p' "$PIN")
BOCHS_TARBALL_SHA256=$(sed -n 's/^BOCHS_TARBALL_SHA256=//p' "$PIN")
BOCHS_URL=$(sed -n 's/^BOCHS_URL=//p' "$PIN")
[[ $BOCHS_COMMIT =~ ^[0-9a-f]{40}$ ]] || die "$PIN: BOCHS_COMMIT is not a full commit id"
[[ $BOCHS_TARBALL_SHA256 =~ ^[0-9a-f]{64}$ ]] || die "$PIN: BOCHS_TARBALL_SHA256 is not a sha256"
[ -n "$BOCHS_URL" ] || die "$PIN: BOCHS_URL is empty"

# The testbed's Bochs: x86-64 with VMX (EPT, VPID, unrestricted guest),
# AVX/AVX-512 (the Ice Lake model needs them), the configurable MSRs that
# testbed/msrs/ declares, the performance-monitoring option, no GUI but the
# blank "nogui" display, no plugins, no internal debugger (a run needs no
# terminal and no debugger commands).
CONFIGURE_FLAGS=(
	--enable-x86-64 --enable-cpu-level=6 --enable-smp --enable-a20-pin
	--enable-all-optimizations --enable-configurable-msrs
	--enable-vmx=2 --enable-avx --enable-evex --enable-perfmon
	--enable-fpu --enable-alignment-check --enable-monitor-mwait
	--enable-protection-keys --enable-cet
	--enable-pci --enable-cdrom --enable-logging
	--disable-plugins --disable-debugger --disable-docbook
	--with-nogui --without-x11 --without-x --without-sdl2 --without-wx
	--without-term --without-rfb --without-vncsrv
)

# A BOCHS_SRC that is not the pinned Bochs is refused even when a build is
# cached: it would be ignored silently otherwise.
check_bochs_src() {
	local sum head

	[ -n "${BOCHS_SRC:-}" ] || return 0
	if [ -f "$BOCHS_SRC" ]; then
		sum=$(sha256sum < "$BOCHS_SRC" | cut -d' ' -f1)
		[ "$sum" = "$BOCHS_TARBALL_SHA256" ] ||
			die "BOCHS_SRC=$BOCHS_SRC has sha256 $sum, expected $BOCHS_TARBALL_SHA256 (Bochs at commit $BOCHS_COMMIT, testbed/bochs/pin)"
	elif [ -d "$BOCHS_SRC" ]; then
		head=$(git -C "$BOCHS_SRC" rev-parse --verify -q 'HEAD^{commit}' 2>/dev/null) ||
			die "BOCHS_SRC=$BOCHS_SRC is a directory but not a git clone of Bochs (expected a clone at commit $BOCHS_COMMIT, or the tarball with sha256 $BOCHS_TARBALL_SHA256)"
		[ "$head" = "$BOCHS_COMMIT" ] ||
			die "BOCHS_SRC=$BOCHS_SRC has HEAD $head, expected the pinned commit $BOCHS_COMMIT (testbed/bochs/pin): git -C $BOCHS_SRC checkout $BOCHS_COMMIT"
		[ -z "$(git -C "$BOCHS_SRC" status --porcelain --untracked-files=no)" ] ||
			die "BOCHS_SRC=$BOCHS_SRC has uncommitted changes to tracked files: the testbed builds the pinned commit $BOCHS_COMMIT as it is (the project's changes are testbed/bochs/*.patch)"
	else
		die "BOCHS_SRC=$BOCHS_SRC does not exist (expected the Bochs tarball with sha256 $BOCHS_TARBALL_SHA256 or a git clone at commit $BOCHS_COMMIT)"
	fi
}

need_cmd sha256sum coreutils
check_bochs_src
key=$(bochs_key)
if [ -f "$BOCHS_DIR/key" ] && [ "$(cat "$BOCHS_DIR/key")" = "$key" ] &&
   [ -x "$BOCHS_DIR/bin/bochs" ]; then
	msg "Bochs ${BOCHS_COMMIT:0:12} is built ($BOCHS_DIR)"
	exit 0
fi

need_cmd g++ g++
need_cmd make make

mkdir -p "$CACHE/tools"
tmp=$(mktemp -d "$CACHE/tools/.bochs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src
mkdir -p "$src"

# The source, as a tree whose bochs/ directory is Bochs (the layout of the
# upstream repository and of the tarball's top directory).
if [ -n "${BOCHS_SRC:-}" ]; then
	# check_bochs_src has checked it above.
	if [ -f "$BOCHS_SRC" ]; then
		step "unpack Bochs ${BOCHS_COMMIT:0:12} from $BOCHS_SRC"
		tar -C "$src" --strip-components=1 -xf "$BOCHS_SRC" ||
			die "cannot unpack BOCHS_SRC=$BOCHS_SRC"
		step_done
	else
		step "export Bochs ${BOCHS_COMMIT:0:12} from $BOCHS_SRC"
		git -C "$BOCHS_SRC" archive "$BOCHS_COMMIT" bochs | tar -C "$src" -xf - ||
			die "cannot export bochs/ of $BOCHS_COMMIT from BOCHS_SRC=$BOCHS_SRC"
		step_done
	fi
else
	clone=$CACHE/tools/bochs-src.git
	step "fetch Bochs ${BOCHS_COMMIT:0:12} from $BOCHS_URL"
	if ! git -C "$clone" cat-file -e "$BOCHS_COMMIT^{commit}" 2>/dev/null; then
		rm -rf "$clone"
		if ! { git init -q --bare "$clone" &&
		       git -C "$clone" fetch -q --depth 1 "$BOCHS_URL" "$BOCHS_COMMIT" > "$tmp/fetch.log" 2>&1; }; then
			sed -n '1,10p' "$tmp/fetch.log" >&2
			rm -rf "$clone"
			die "cannot fetch Bochs commit $BOCHS_COMMIT from $BOCHS_URL: set BOCHS_SRC to the Bochs tarball (sha256 $BOCHS_TARBALL_SHA256) or to a clone of $BOCHS_URL at that commit"
		fi
	fi
	git -C "$clone" archive "$BOCHS_COMMIT" bochs | tar -C "$src" -xf - ||
		die "cannot export bochs/ of $BOCHS_COMMIT from $clone"
	step_done
fi
{ [ -f "$src/bochs/configure" ] && [ -f "$src/bochs/cpu/cpu.h" ]; } ||
	die "the Bochs source (${BOCHS_SRC:-$BOCHS_URL}) has no bochs/configure and bochs/cpu/cpu.h"

# The project's patches, in order; none may need fuzz.
while IFS= read -r p; do
	if ! out=$(patch -d "$src" -p1 -N -F0 --no-backup-if-mismatch < "$p" 2>&1); then
		printf '%s\n' "$out" | sed -n '1,20p' >&2
		die "${p#"$TOP"/} does not apply to Bochs $BOCHS_COMMIT"
	fi
done < <(bochs_patches)

step "build Bochs ${BOCHS_COMMIT:0:12} ($(bochs_patches | wc -l) testbed patches)"
log=$tmp/build.log
if ! (cd "$src/bochs" &&
      CFLAGS="-O2" CXXFLAGS="-O2" ./configure --prefix=/usr/local "${CONFIGURE_FLAGS[@]}" &&
      make -j"$JOBS") > "$log" 2>&1; then
	mkdir -p "$CACHE/logs"
	cp "$log" "$CACHE/logs/bochs-build.log"
	grep -E -B2 -A6 'error:|Error [0-9]' "$log" | sed -n '1,40p' >&2 || tail -n 30 "$log" >&2
	die "building Bochs $BOCHS_COMMIT failed (log: $CACHE/logs/bochs-build.log)"
fi
step_done

# Install: the binary, and the BIOS and VGA BIOS of the same tree.
inst=$tmp/inst
mkdir -p "$inst/bin" "$inst/share"
cp "$src/bochs/bochs" "$inst/bin/bochs"
cp "$src/bochs/bios/BIOS-bochs-latest" "$inst/share/BIOS-bochs-latest"
cp "$src/bochs/bios/VGABIOS-lgpl/VGABIOS-lgpl-latest.bin" "$inst/share/VGABIOS-lgpl-latest.bin"
printf '%s\n' "${CONFIGURE_FLAGS[*]}" > "$inst/configure-flags"
printf '%s\n' "$BOCHS_COMMIT" > "$inst/commit"
bochs_patches | while IFS= read -r p; do printf '%s\n' "${p##*/}"; done > "$inst/patches"
"$inst/bin/bochs" --help cpu > "$inst/cpu-models" 2>&1 || true
grep -q corei7_icelake_u "$inst/cpu-models" ||
	die "the Bochs built from $BOCHS_COMMIT lists no corei7_icelake_u CPU model (bochs --help cpu: $inst/cpu-models)"
printf '%s\n' "$key" > "$inst/key"
rm -rf "$BOCHS_DIR"
mv "$inst" "$BOCHS_DIR"
msg "Bochs ${BOCHS_COMMIT:0:12} built: $BOCHS_DIR/bin/bochs"
