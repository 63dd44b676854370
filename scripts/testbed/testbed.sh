#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# "make testbed": run the PMU selftests on the patched KVM (and on the
# base, with the same test binaries) inside an emulated Intel host (Bochs),
# then judge the results (testbed-verdict.sh).  See Documentation/testing.md.
#
#   1. the series tree's selftests (testbed-selftests.sh)
#   2. the base and the series testbed kernels (testbed-kernel.sh)
#   3. one boot image per tree and vPMU flavour (testbed-image.sh)
#   4. the runs of TESTBED_RUNS, two at a time, each skipped while its
#      results' key (everything that shapes them) is unchanged
#      (testbed-run.sh)
#   5. the verdict (testbed-verdict.sh)
#
# Environment: TESTBED_RUNS ("model/flavour ..."), TESTBED_JOBS (runs at
# once, default: the number of CPUs), TESTBED_TIMEOUT (seconds per run).

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

S=$TOP/scripts/testbed
RUNS=${TESTBED_RUNS:-"corei7_icelake_u/perf corei7_skylake_x/perf corei7_icelake_u/mediated corei7_skylake_x/mediated"}
TJOBS=${TESTBED_JOBS:-$(nproc)}

resolve_base
need_bochs
mkdir -p "$TESTBED_DIR"

step "testbed: selftests"
"$S/testbed-selftests.sh"
step_done
for tree in base series; do
	step "testbed: $tree kernel"
	"$S/testbed-kernel.sh" "$tree"
	step_done
done

flavours=$(for r in $RUNS; do printf '%s\n' "${r#*/}"; done | sort -u)
step "testbed: boot images"
for tree in base series; do
	for f in $flavours; do
		"$S/testbed-image.sh" "$tree" "$f"
	done
done
step_done

# The key of a run: every input that shapes its results.
inputs_of() {
	local tree=$1 model=$2 flavour=$3 t

	{
		sha1sum "$TESTBED_DIR/$tree/bzImage" "$TESTBED_DIR/$tree/kvm.ko" \
			"$TESTBED_DIR/$tree/kvm-intel.ko" "$TESTBED_DIR/$tree"/deps/*.ko
		while IFS= read -r t; do
			sha1sum "$TESTBED_DIR/selftests/$t"
		done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$TESTBED_SRC/tests")
		sha1sum "$TESTBED_SRC/tests" "$TESTBED_SRC/init.sh" "$TESTBED_SRC/bochsrc.in" \
			"$TESTBED_SRC/boot-noise" "$TESTBED_SRC/msrs/$model.msrs" \
			"$TESTBED_SRC/msrs/$flavour.msrs" "$S/testbed-image.sh" "$S/testbed-run.sh" \
			"$TOP/scripts/lib.sh" "$CACHE/tools/busybox/bin/busybox"
		# The shared libraries the initramfs gets (testbed-image.sh).
		while IFS= read -r t; do
			ldd "$TESTBED_DIR/selftests/$t"
		done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$TESTBED_SRC/tests") |
			sed -n -E 's#^[[:space:]]*([^[:space:]]+ => )?(/[^[:space:]]+) \(0x.*#\2#p' |
			sort -u | xargs -r sha1sum
		sed -n 's/^\(tree\|source_tree\|config\|release\)=/&/p' "$TESTBED_DIR/$tree/kernel.id"
		printf 'bochs %s\n' "$(cat "$BOCHS_DIR/key" 2>/dev/null)"
		dpkg-query -W -f '${Package} ${Version}\n' grub-pc-bin 2>&1
		printf 'busybox-static %s\n' "$(cat "$CACHE/tools/busybox/version" 2>/dev/null)"
		printf 'timeout %s\n' "${TESTBED_TIMEOUT:-900}"
	} | sed "s#$TESTBED_DIR/##" | sha1sum | cut -c1-40
}

todo=()
for r in $RUNS; do
	model=${r%/*}
	flavour=${r#*/}
	for tree in base series; do
		key=$(inputs_of "$tree" "$model" "$flavour")
		dir=$TESTBED_DIR/runs/$model-$flavour-$tree
		if [ -f "$dir/results.tsv" ] && [ "$(cat "$dir/key" 2>/dev/null)" = "$key" ]; then
			msg "cached: $model/$flavour on the $tree kernel ($dir)"
		else
			todo+=("$model $flavour $tree $key")
		fi
	done
done

if [ ${#todo[@]} -gt 0 ]; then
	step "testbed: ${#todo[@]} emulator run(s), $TJOBS at a time"
	pids=()
	for job in "${todo[@]}"; do
		read -r jm jf jt _ <<< "$job"
		rm -rf "$TESTBED_DIR/runs/$jm-$jf-$jt"
		# shellcheck disable=SC2086 # model, flavour, tree, key
		"$S/testbed-run.sh" $job &
		pids+=($!)
		while [ "$(jobs -rp | wc -l)" -ge "$TJOBS" ]; do
			wait -n || true
		done
	done
	for p in "${pids[@]}"; do
		wait "$p" || msg "a testbed run failed before writing results (see above)"
	done
	step_done
fi

# shellcheck disable=SC2086 # one argument per run
"$S/testbed-verdict.sh" $RUNS
