#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Check 4: bisectability.  Build the base, then every patch of the series
# in order (incremental, W=1, KVM_WERROR=y), building what the patch
# touches: arch/x86/kvm/ and/or arch/x86/events/ (both for shared headers
# and other kernel code), and the KVM selftests for tools/.  A patch fails
# when its build fails or prints a warning the base build does not have.
# Results are cached by tree and configuration, so a warm run only builds
# patches that changed.  The base build also records the base's warnings
# (used by this check and by check-selftests.sh).

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

resolve_base
[ -f "$STAMPS/config" ] || die "the series tree is not configured: run 'make config'"
cfg=$(cat "$STAMPS/config")
dir=$STAMPS/bisect
mkdir -p "$dir" "$BUILD_DIR/logs"
base_tree=$(git -C "$SRC_REPO" rev-parse "$BASE_REV^{tree}")
base_warn=$STAMPS/base-warnings-$(printf '%s %s' "$base_tree" "$cfg" | sha1sum | cut -c1-16)

mapfile -t commits < <(series_commits)
total=${#commits[@]}
final=$(git -C "$SERIES_TREE" rev-parse HEAD)
states=("$BASE_REV" "${commits[@]}")

# What a commit's changes require to be built.
parts_of() {
	local c=$1 f kvm='' events='' st=''

	if [ "$c" = "$BASE_REV" ]; then
		echo "kvm events selftests"
		return
	fi
	while IFS= read -r f; do
		case "$f" in
		arch/x86/kvm/*) kvm=1 ;;
		arch/x86/events/*) events=1 ;;
		tools/*) st=1 ;;
		Documentation/*|MAINTAINERS|*/.gitignore) ;;
		*) kvm=1; events=1 ;;
		esac
	done < <(git -C "$SERIES_TREE" diff-tree --no-commit-id --name-only -r "$c^" "$c")
	echo ${kvm:+kvm} ${events:+events} ${st:+selftests}
}

# Build one part at the current checkout; print new warnings to stdout.
build_part() {
	local part=$1 log=$BUILD_DIR/logs/bisect-$1.log

	case "$part" in
	kvm) build_kdirs "$log" arch/x86/kvm/ || return 1 ;;
	events) build_kdirs "$log" arch/x86/events/ || return 1 ;;
	selftests) build_selftests "$log" || return 1 ;;
	esac
	if [ "$state" = "$BASE_REV" ]; then
		warnings_of "$log" >> "$base_warn.$part.new"
	else
		warnings_of "$log" | comm -23 - "$base_warn.$part"
	fi
}

i=0
for state in "${states[@]}"; do
	if [ "$i" -eq 0 ]; then
		label="build base"
	else
		label="build patch $i/$total: $(git -C "$SERIES_TREE" log -1 --format=%s "$state")"
	fi
	parts=$(parts_of "$state")
	tree=$(git -C "$SERIES_TREE" rev-parse "$state^{tree}")
	key=$(printf '%s %s %s' "$tree" "$cfg" "$parts" | sha1sum | cut -c1-40)
	i=$((i + 1))
	if [ -z "$parts" ]; then
		report skip "$label" "touches nothing that is built (documentation only)"
		continue
	fi
	if [ -f "$dir/$key" ] && { [ "$state" != "$BASE_REV" ] || [ -f "$base_warn.selftests" ]; }; then
		report pass "$label [$parts] (cached)"
		continue
	fi
	git -C "$SERIES_TREE" checkout -q --detach "$state"
	if [ "$state" = "$BASE_REV" ]; then
		# A complete list of the base's warnings needs a full build.
		rm -rf "$OBJ/arch/x86/kvm" "$OBJ/arch/x86/events" "$SELFTEST_OUT"
		rm -f "$base_warn".*
	fi
	ok=1
	detail=()
	for part in $parts; do
		if ! new=$(build_part "$part"); then
			ok=
			detail+=("$part build failed: $(grep -m1 -E 'error:' "$BUILD_DIR/logs/bisect-$part.log" | sed "s#^$SERIES_TREE/##")" "(log: $BUILD_DIR/logs/bisect-$part.log)")
			continue
		fi
		if [ -n "$new" ]; then
			ok=
			detail+=("new $part warnings: ${new//$'\n'/; }")
		fi
	done
	if [ "$state" = "$BASE_REV" ] && [ -n "$ok" ]; then
		for part in kvm events selftests; do
			sort -u "$base_warn.$part.new" > "$base_warn.$part"
			rm -f "$base_warn.$part.new"
		done
	fi
	if [ -n "$ok" ]; then
		: > "$dir/$key"
		report pass "$label [$parts]"
	else
		report fail "$label [$parts]" "${detail[*]}"
	fi
done
git -C "$SERIES_TREE" checkout -q "$SERIES_BRANCH"
[ "$(git -C "$SERIES_TREE" rev-parse HEAD)" = "$final" ] ||
	die "$SERIES_TREE: $SERIES_BRANCH moved during the check"
exit 0
