#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the KVM selftests the testbed runs (testbed/tests) from the series
# tree, against its uapi headers, into $TESTBED_DIR/selftests: base and
# series kernels run these same binaries.  Fails when an x86 test that the
# series adds or changes is not in testbed/tests.  The build is kept while
# the series tree's tools/ and uapi headers are unchanged.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

resolve_base
[ -f "$STAMPS/applied" ] || die "the series is not applied in $SERIES_TREE: run 'make apply'"
list=$TESTBED_SRC/tests
[ -f "$list" ] || die "$list is missing"
mapfile -t tests < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$list")
[ ${#tests[@]} -gt 0 ] || die "$list lists no test"

# Every x86 test program whose source the series adds or changes.
missing=()
while IFS= read -r f; do
	t=${f#tools/testing/selftests/kvm/}
	t=${t%.c}
	grep -qE "^TEST_GEN_PROGS_x86[[:space:]]*\+=[[:space:]]*$t\$" \
		"$SERIES_TREE/tools/testing/selftests/kvm/Makefile.kvm" || continue
	[[ " ${tests[*]} " == *" $t "* ]] || missing+=("$t")
done < <(git -C "$SERIES_TREE" diff --name-only "$BASE_REV" HEAD -- 'tools/testing/selftests/kvm/x86/*.c')
[ ${#missing[@]} -eq 0 ] ||
	die "testbed/tests lacks selftests that the series adds or changes: ${missing[*]}"

out=$TESTBED_DIR/selftests
key=$(printf '%s\n' "${tests[@]}" "$(git -C "$SERIES_TREE" rev-parse HEAD:tools HEAD:include/uapi HEAD:arch/x86/include/uapi)" "$(gcc -dumpfullversion)" | sha1sum | cut -c1-40)
if [ "$(cat "$out.key" 2>/dev/null)" = "$key" ]; then
	msg "testbed selftests up to date in $out"
	exit 0
fi
rm -f "$out.key"
mkdir -p "$TESTBED_DIR"
step "testbed: build the selftests of the series tree (${#tests[@]} tests)"
hdr=$TESTBED_DIR/headers
log=$TESTBED_DIR/selftests.log
rm -rf "$out" "$hdr"
targets=()
for t in "${tests[@]}"; do
	targets+=("$out/$t")
done
if ! { make -s -C "$SERIES_TREE" O="$hdr" ARCH=x86_64 headers &&
       make -C "$SERIES_TREE/tools/testing/selftests/kvm" -j"$JOBS" OUTPUT="$out" \
		KHDR_INCLUDES="-isystem $hdr/usr/include" "${targets[@]}"; } > "$log" 2>&1; then
	grep -E -B2 -A6 'error:|Error [0-9]' "$log" | sed -n '1,60p' >&2 || tail -n 30 "$log" >&2
	die "the testbed selftests do not build (log: $log)"
fi
for t in "${tests[@]}"; do
	[ -x "$out/$t" ] || die "the selftest build left no $out/$t (is $t in testbed/tests a test of Makefile.kvm?)"
done
printf '%s\n' "$key" > "$out.key"
step_done
