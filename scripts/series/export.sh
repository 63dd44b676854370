#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Regenerate patches/, series and the per-file views from the work branch
# (see "make work"), or from EXPORT_TREE=/path (a worktree whose HEAD holds
# the series on top of the base; "make check" uses it with the applied
# series).  Output goes to OUTDIR (default: the repository), which must
# then contain only generated files in patches/, arch-x86-kvm/,
# tools-selftests/ and MAINTAINERS-snippet.  Running it twice gives the
# same files.
#
# The cover letter body is Documentation/cover-letter.txt (first line: the
# subject, then a blank line, then the body); git format-patch adds the
# shortlog and diffstat, and the base line comes from the base in use.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

COVER_SRC=$TOP/Documentation/cover-letter.txt

resolve_base
tree=${EXPORT_TREE:-$WORK_TREE}
out=${OUTDIR:-$TOP}
[ -e "$tree/.git" ] ||
	die "no work tree at $tree: run 'make work' first (or set EXPORT_TREE)"
if [ -n "$(git -C "$tree" status --porcelain --untracked-files=no)" ]; then
	die "$tree has uncommitted changes: commit them (git commit --amend / --fixup) before exporting"
fi
git -C "$tree" merge-base --is-ancestor "$BASE_REV" HEAD ||
	die "HEAD of $tree is not based on $BASE_DESC: rebase it onto $BASE_REV"
[ -f "$COVER_SRC" ] || die "$COVER_SRC is missing"

subject=$(head -n 1 "$COVER_SRC")
[ -n "$subject" ] || die "$COVER_SRC: the first line (the subject) is empty"
[ -z "$(sed -n 2p "$COVER_SRC")" ] || die "$COVER_SRC: the second line must be empty"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/patches"

n=$(git -C "$tree" rev-list --count "$BASE_REV..HEAD")
base_opt=()
if [ -n "${KERNEL_SRC:-}" ]; then
	base_opt=(--base="$BASE_REV")
fi

# Options pinned so that the output does not depend on the user's config.
# "RFC PATCH": the series has not run on Intel hardware, and the handbook
# wants untested work tagged RFC.
fp() {
	git -C "$tree" -c diff.noprefix=false -c diff.mnemonicPrefix=false \
		-c format.signOff=false -c format.thread=false -c format.headers= \
		-c format.useAutoBase=false \
		-c format.subjectPrefix='RFC PATCH' -c format.suffix=.patch \
		-c diff.renames=true -c diff.algorithm=myers \
		"$@"
}

if [ "$n" -gt 0 ]; then
	# The cover letter is "from" the author of the first patch and dated
	# like the newest patch, so that exporting again gives the same file.
	first=$(git -C "$tree" rev-list --reverse "$BASE_REV..HEAD" | sed -n '1,1p')
	date=$(git -C "$tree" log --format='%at' "$BASE_REV..HEAD" | sort -n | tail -n 1)
	name=$(git -C "$tree" log -1 --format=%an "$first")
	email=$(git -C "$tree" log -1 --format=%ae "$first")
	GIT_AUTHOR_NAME=$name GIT_AUTHOR_EMAIL=$email GIT_AUTHOR_DATE="@$date +0000" \
	GIT_COMMITTER_NAME=$name GIT_COMMITTER_EMAIL=$email GIT_COMMITTER_DATE="@$date +0000" \
	fp format-patch -q --cover-letter --zero-commit --no-signature --abbrev=12 \
		--no-to --no-cc \
		--numbered "${base_opt[@]}" -o "$tmp/patches" "$BASE_REV..HEAD"
	cover=$tmp/patches/0000-cover-letter.patch
	[ -f "$cover" ] || die "git format-patch wrote no cover letter"
else
	# git format-patch writes nothing for an empty range; write the
	# cover letter of an empty series by hand, in the same format.
	cover=$tmp/patches/0000-cover-letter.patch
	{
		printf 'From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n'
		printf 'From: kvm-pmu-v5 workbench <kvm-pmu-v5@localhost>\n'
		printf 'Date: %s\n' "$(git -C "$tree" log -1 --format=%aD "$BASE_REV")"
		printf 'Subject: [PATCH 0/0] *** SUBJECT HERE ***\n\n*** BLURB HERE ***\n\n'
		printf '%s\n\n' 'Empty series: no patches yet.'
		if [ ${#base_opt[@]} -gt 0 ]; then
			printf 'base-commit: %s\n' "$BASE_REV"
		fi
	} > "$cover"
fi

# Merge the cover letter source: subject, body, and (for the Debian base,
# which is not an upstream commit) the base line where format-patch would
# put base-commit:.
body=$tmp/body
tail -n +3 "$COVER_SRC" > "$body"
awk -v subject="$subject" -v bodyfile="$body" -v base="$BASE_DESC" -v debian="${KERNEL_SRC:+no}" '
	/\*\*\* SUBJECT HERE \*\*\*/ { sub(/\*\*\* SUBJECT HERE \*\*\*/, subject) }
	/^\*\*\* BLURB HERE \*\*\*$/ {
		while ((getline line < bodyfile) > 0)
			print line
		next
	}
	{ print; last = $0 }
	END {
		if (debian != "no") {
			if (last != "")
				print ""
			print base
		}
	}
' "$cover" | cat -s > "$cover.new"
mv "$cover.new" "$cover"

# The quilt series file: every patch but the cover letter, in order.
{
	printf '# quilt series file: the patches in patches/, in order (the cover letter is not listed)\n'
	for p in "$tmp"/patches/*.patch; do
		case "${p##*/}" in
		0000-cover-letter.patch) ;;
		*) printf '%s\n' "${p##*/}" ;;
		esac
	done
} > "$tmp/series"

"$TOP/scripts/series/gen-views.sh" "$tree" "$BASE_REV" HEAD "$tmp"
"$TOP/scripts/series/maintainers.sh" "$tree" "$tmp" > "$tmp/MAINTAINERS-snippet"

# Install the result, leaving no stale file behind.
mkdir -p "$out"
rm -rf "$out/patches" "$out/arch-x86-kvm" "$out/tools-selftests"
mv "$tmp/patches" "$tmp/arch-x86-kvm" "$tmp/tools-selftests" "$out/"
mv "$tmp/series" "$tmp/MAINTAINERS-snippet" "$out/"
msg "exported $n patches (+ cover letter) from $tree to $out"
