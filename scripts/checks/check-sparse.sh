#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Check 5: sparse (C=2) on arch/x86/kvm/ and arch/x86/events/ plus any
# other C file the series touches, at the base and with the series
# applied.  A warning is new when the base does not have it; warnings are
# compared by file and message, not line number, so shifted lines do not
# count as new.  Results are cached by tree.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

resolve_base
[ -f "$STAMPS/config" ] || die "the series tree is not configured: run 'make config'"
cfg=$(cat "$STAMPS/config")
checker=$(sparse_bin) || die "sparse not found: run 'make deps'"
version=$("$checker" --version 2>&1 | sed -n '1,1p')
final=$(git -C "$SERIES_TREE" rev-parse HEAD)
mkdir -p "$BUILD_DIR/logs"

targets=(arch/x86/kvm/ arch/x86/events/)
while IFS= read -r f; do
	case "$f" in
	arch/x86/kvm/*|arch/x86/events/*) ;;
	arch/*.c|kernel/*.c|virt/*.c|mm/*.c|lib/*.c|drivers/*.c)
		[ -f "$SERIES_TREE/$f" ] && targets+=("${f%.c}.o") ;;
	esac
done < <(git -C "$SERIES_TREE" diff --name-only "$BASE_REV" "$final")

# Sparse warnings at one commit, as "file: warning: message" lines.
sparse_at() {
	local rev=$1 key out log=$BUILD_DIR/logs/sparse.log

	key=$(printf '%s %s %s %s' "$(git -C "$SERIES_TREE" rev-parse "$rev^{tree}")" \
		"$cfg" "${targets[*]}" "$version" | sha1sum | cut -c1-40)
	out=$STAMPS/sparse-$key
	if [ ! -f "$out" ]; then
		git -C "$SERIES_TREE" checkout -q --detach "$rev"
		if ! kmake -s W=1 C=2 CHECK="$checker" -j"$JOBS" "${targets[@]}" > "$log" 2>&1; then
			grep -E -B2 -A6 'error:|Error [0-9]' "$log" | sed -n '1,40p' >&2 || true
			return 1
		fi
		warnings_of "$log" > "$out.tmp"
		mv "$out.tmp" "$out"
	fi
	cat "$out"
}

status=0
if ! base_w=$(sparse_at "$BASE_REV"); then
	report fail "sparse at the base" "the build with C=2 failed (log: $BUILD_DIR/logs/sparse.log)"
	status=1
elif ! final_w=$(sparse_at "$final"); then
	report fail "sparse with the series" "the build with C=2 failed (log: $BUILD_DIR/logs/sparse.log)"
	status=1
fi
git -C "$SERIES_TREE" checkout -q "$SERIES_BRANCH"
[ "$status" -eq 0 ] || exit 0

new=$(comm -13 <(printf '%s\n' "$base_w" | sort -u) <(printf '%s\n' "$final_w" | sort -u) | sed '/^$/d')
nbase=$(printf '%s\n' "$base_w" | sed '/^$/d' | wc -l)
if [ -z "$new" ]; then
	report pass "sparse: no new warnings in ${targets[*]} ($nbase at the base, $version)"
else
	report fail "sparse: $(printf '%s\n' "$new" | wc -l) new warning(s)"
	printf '%s\n' "$new" | sed -n '1,40p' | indent
fi
