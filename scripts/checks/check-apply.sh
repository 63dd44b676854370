#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Check 2: the series applies to a clean base with "git am" (no fuzz, no
# whitespace warnings; done by apply-series.sh, verified here), and "quilt
# push -a" with fuzz 0 on a clean base gives the same tree.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

resolve_base
mapfile -t patches < <(series_patches)
n=${#patches[@]}
hash=$(series_hash)

if [ -f "$STAMPS/applied" ] && [ "$(cat "$STAMPS/applied")" = "$hash" ]; then
	report pass "git am: $n patches apply to the base with no fuzz and no whitespace warnings"
else
	report fail "git am" "the series is not applied: run 'make apply' to see the failing patch"
	exit 0
fi

if [ "$n" -eq 0 ]; then
	report skip "quilt push -a --fuzz=0" "empty series, nothing to push"
	exit 0
fi
if [ -f "$STAMPS/quilt" ] && [ "$(cat "$STAMPS/quilt")" = "$hash" ]; then
	report pass "quilt push -a --fuzz=0 gives the same tree as git am (cached)"
	exit 0
fi

need_cmd quilt quilt
qtree=$BUILD_DIR/quilt
if [ ! -e "$qtree/.git" ]; then
	git -C "$SRC_REPO" worktree prune
	rm -rf "$qtree"
	git -C "$SRC_REPO" worktree add -q --detach "$qtree" "$BASE_REV"
fi
git -C "$qtree" checkout -q -f --detach "$BASE_REV"
git -C "$qtree" clean -q -f -d -x
if ! out=$(cd "$qtree" && QUILT_PATCHES=$TOP/patches QUILT_SERIES=$TOP/series \
	   quilt push -a --fuzz=0 2>&1); then
	report fail "quilt push -a --fuzz=0" "$(printf '%s\n' "$out" | grep -E -A3 'FAILED|does not apply|Hunk' | sed -n '1,10p')"
	exit 0
fi
if grep -qE 'fuzz|offset|[Ww]arning' <<< "$out"; then
	report fail "quilt push -a --fuzz=0" "quilt reported offsets or warnings:"
	printf '%s\n' "$out" | grep -E 'fuzz|offset|[Ww]arning' | sed -n '1,10p' | indent
	exit 0
fi
git -C "$qtree" add -A
qt=$(git -C "$qtree" write-tree)
git -C "$qtree" reset -q
st=$(git -C "$SERIES_TREE" rev-parse 'HEAD^{tree}')
if [ "$qt" = "$st" ]; then
	report pass "quilt push -a --fuzz=0 gives the same tree as git am"
	printf '%s\n' "$hash" > "$STAMPS/quilt"
else
	report fail "quilt push -a --fuzz=0 gives a different tree than git am" \
		"$(git -C "$SERIES_TREE" diff --stat "$st" "$qt" | tail -n 1)"
fi
