#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Create the work branch for authoring: a worktree of the base repository
# (or of KERNEL_SRC) at the base, with the series applied by "git am",
# exactly as a user applies it.  Edit, commit, reorder and rebase there,
# then run "make export".  An existing work tree is kept unless FORCE=1
# (which discards commits that were not exported).

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

lock_cache
resolve_base

if [ -e "$WORK_TREE" ]; then
	[ -n "${FORCE:-}" ] ||
		die "$WORK_TREE exists (branch $WORK_BRANCH): keep working there, or recreate it with FORCE=1 (unexported commits are lost)"
	git -C "$SRC_REPO" worktree remove --force "$WORK_TREE" 2>/dev/null || rm -rf "$WORK_TREE"
	git -C "$SRC_REPO" worktree prune
fi

step "create $WORK_BRANCH in $WORK_TREE"
git -C "$SRC_REPO" worktree add -q -B "$WORK_BRANCH" "$WORK_TREE" "$BASE_REV"
mapfile -t patches < <(series_patches)
if [ ${#patches[@]} -gt 0 ]; then
	git -C "$WORK_TREE" -c am.threeWay=false am -q --whitespace=error "${patches[@]}" || {
		git -C "$WORK_TREE" am --abort >/dev/null 2>&1 || true
		die "the series does not apply in $WORK_TREE: run 'make apply' to see which patch fails"
	}
fi
step_done
cat <<MSG
Work tree: $WORK_TREE (branch $WORK_BRANCH, ${#patches[@]} patches on $BASE_DESC)
Edit and commit there (git rebase -i $BASE_REV to reorder or amend), then
run 'make export' here and commit patches/, series and the views.
MSG
