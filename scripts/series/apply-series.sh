#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Apply the series (patches listed in ./series) with "git am" onto a new
# branch at the base, in a worktree of the base repository: exactly what a
# user of the series does.  The worktree is reused while the base and the
# patches are unchanged.  A patch that does not apply is named, with the
# hunk that failed, and nothing is recorded as applied.
#
# With KERNEL_SRC=/path/to/linux the worktree and the branch are created
# in that repository; the branch checked out there is never touched.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

need_cmd git git
lock_cache
resolve_base

hash=$(series_hash)
stamp=$STAMPS/applied
mkdir -p "$STAMPS"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] &&
   [ -e "$SERIES_TREE/.git" ] &&
   [ -z "$(git -C "$SERIES_TREE" status --porcelain --untracked-files=no)" ]; then
	msg "series already applied in $SERIES_TREE ($(git -C "$SERIES_TREE" rev-list --count "$BASE_REV..HEAD") patches)"
	exit 0
fi
rm -f "$stamp"

step "apply the series with git am"
if [ ! -e "$SERIES_TREE/.git" ]; then
	git -C "$SRC_REPO" worktree prune
	rm -rf "$SERIES_TREE"
	mkdir -p "$BUILD_DIR"
	git -C "$SRC_REPO" worktree add -q --detach "$SERIES_TREE" "$BASE_REV"
fi
git -C "$SERIES_TREE" am --abort >/dev/null 2>&1 || true
git -C "$SERIES_TREE" checkout -q -f -B "$SERIES_BRANCH" "$BASE_REV"

mapfile -t patches < <(series_patches)
n=0
for p in "${patches[@]}"; do
	n=$((n + 1))
	[ -f "$p" ] || die "$TOP/series lists ${p#"$TOP"/}, which does not exist"
	if ! out=$(git -C "$SERIES_TREE" -c am.threeWay=false am -q --whitespace=error "$p" 2>&1); then
		printf '%s\n' "$out" >&2
		msg "failing hunk(s) of ${p#"$TOP"/}:"
		git -C "$SERIES_TREE" apply --check -v "$p" 2>&1 | sed -n '/^error: while searching for:/,/^error: patch failed/p' | sed -n '1,40p' >&2 || true
		git -C "$SERIES_TREE" am --abort >/dev/null 2>&1 || true
		die "patch $n/${#patches[@]} ${p#"$TOP"/} does not apply to $BASE_DESC"
	fi
	if [ -n "$out" ]; then
		printf '%s\n' "$out" >&2
		die "git am of ${p#"$TOP"/} printed warnings (see above)"
	fi
done
printf '%s\n' "$hash" > "$stamp"
step_done
msg "series applied: $n patches on branch $SERIES_BRANCH in $SERIES_TREE"
