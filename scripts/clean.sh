#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: clean.sh build|work|all
#
#   build  remove the build trees and objects (base and tools stay)
#   work   remove the work tree and its branch (unexported commits are lost)
#   all    remove the whole cache directory

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || die "usage: $PROG build|work|all"
lock_cache

prune() {
	if [ -d "$BASE_REPO/.git" ]; then
		git -C "$BASE_REPO" worktree prune
	fi
	if [ -n "${KERNEL_SRC:-}" ]; then
		git -C "$KERNEL_SRC" worktree prune
	fi
}

case "$1" in
build)
	rm -rf "$CACHE"/build-debian "$CACHE"/ksrc-*/src "$CACHE"/ksrc-*/obj \
		"$CACHE"/ksrc-*/selftests* "$CACHE"/ksrc-*/stamps "$CACHE"/ksrc-*/quilt
	prune
	msg "removed the build trees under $CACHE"
	;;
work)
	resolve_base
	if [ -e "$WORK_TREE" ]; then
		git -C "$SRC_REPO" worktree remove --force "$WORK_TREE" 2>/dev/null || rm -rf "$WORK_TREE"
	fi
	git -C "$SRC_REPO" worktree prune
	git -C "$SRC_REPO" branch -q -D "$WORK_BRANCH" 2>/dev/null || true
	msg "removed the work tree $WORK_TREE"
	;;
all)
	exec 9>&-
	rm -rf "$CACHE"
	msg "removed $CACHE"
	;;
*) die "usage: $PROG build|work|all" ;;
esac
