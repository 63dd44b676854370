#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: gen-views.sh REPO BASE HEAD OUTDIR
#
# Write the per-file views of what BASE..HEAD does under arch/x86/kvm/
# (OUTDIR/arch-x86-kvm/) and tools/testing/selftests/kvm/
# (OUTDIR/tools-selftests/), same relative paths: a file the series
# creates appears in full, a file it modifies or deletes appears as
# <path>.diff, the net "git diff BASE HEAD" of that file.  The two view
# directories are recreated from scratch.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

[ $# -eq 4 ] || die "usage: $PROG REPO BASE HEAD OUTDIR"
repo=$1 base=$2 head=$3 out=$4

# Fixed diff options, so that the views do not depend on git config.
gdiff() {
	git -C "$repo" -c diff.noprefix=false -c diff.mnemonicPrefix=false \
		diff --no-color --no-ext-diff --no-renames --diff-algorithm=myers \
		--abbrev=12 "$@"
}

for view in arch/x86/kvm:arch-x86-kvm tools/testing/selftests/kvm:tools-selftests; do
	src=${view%%:*}
	dst=$out/${view#*:}
	rm -rf "$dst"
	mkdir -p "$dst"
	gdiff --name-status "$base" "$head" -- "$src/" |
	while IFS=$'\t' read -r status path; do
		rel=${path#"$src"/}
		mkdir -p "$dst/$(dirname "$rel")"
		case "$status" in
		A) git -C "$repo" show "$head:$path" > "$dst/$rel" ;;
		*) gdiff "$base" "$head" -- "$path" > "$dst/$rel.diff" ;;
		esac
	done
	# Keep the (possibly empty) directory in git.
	[ -n "$(ls -A "$dst")" ] || : > "$dst/.gitkeep"
done
