#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# "make send": prepare the mails of the series in SEND_DIR (default: the
# build directory's outgoing/), i.e. patches/ with To: and Cc: headers from
# the base tree's scripts/get_maintainer.pl (queried as b4 does, see
# MAINTAINERS-snippet), and check them with "git send-email --dry-run".
#
# Nothing is sent unless SEND=yes, and then git send-email asks before
# every mail.  SEND_TO / SEND_CC replace the computed recipients (comma
# separated), e.g. to trim them as KVM series usually are.
#
# The mails are sent as the person running this: From: and a
# Signed-off-by: appended to each patch's chain come from their git
# identity (git config user.name / user.email, or SEND_NAME / SEND_EMAIL).
# A placeholder identity (an address under .example, .invalid or a noreply
# domain, such as the one this repository's commits carry) is never used as
# the sender: SEND=yes refuses it, and a dry run uses a visibly fake sender.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

need_cmd git git
if [ ! -x "$(git --exec-path)/git-send-email" ] || ! perl -MMail::Address -e 1 2>/dev/null; then
	die "git send-email does not work: install the Debian packages git-email and libmailtools-perl (or run 'make deps')"
fi
resolve_base
[ -x "$SERIES_TREE/scripts/get_maintainer.pl" ] || die "no series tree in $SERIES_TREE: run 'make apply'"

mapfile -t patches < <(series_patches)
[ ${#patches[@]} -gt 0 ] || die "the series has no patches, nothing to send"
cover=$TOP/patches/0000-cover-letter.patch
[ -f "$cover" ] || die "$cover is missing: run 'make export'"
out=${SEND_DIR:-$BUILD_DIR/outgoing}

gm() {
	(cd "$SERIES_TREE" && ./scripts/get_maintainer.pl --nogit --nogit-fallback \
		--nogit-chief-penguins --norolestats "$@" 2>/dev/null)
}

name=${SEND_NAME:-$(git -C "$TOP" config user.name || true)}
email=${SEND_EMAIL:-$(git -C "$TOP" config user.email || true)}
placeholder() {
	case "$1" in
	''|*.example|*.invalid|*.localhost|*noreply*) return 0 ;;
	esac
	return 1
}
if [ -z "$name" ] || placeholder "$email"; then
	[ "${SEND:-}" != yes ] ||
		die "no sender identity: git config user.name/user.email is '${name:-unset} <${email:-unset}>', a placeholder; set yours (git config --global user.name/user.email, or SEND_NAME/SEND_EMAIL)"
	msg "note: git identity '${name:-unset} <${email:-unset}>' is a placeholder; the dry run uses a fake sender"
	name="Dry Run (set git config user.name and user.email)"
	email="dry-run@sender.invalid"
fi
sender="$name <$email>"

# Beyond get_maintainer.pl: the authors of Intel's overlapping series and
# the reviewers of the 2023 v5 attempt, with the addresses of the cited
# threads (Documentation/cover-letter.txt); SEND_CC replaces all of it.
PEOPLE=(
	"Zide Chen <zide.chen@intel.com>"
	"Dapeng Mi <dapeng1.mi@linux.intel.com>"
	"Kan Liang <kan.liang@linux.intel.com>"
	"Like Xu <like.xu.linux@gmail.com>"
	"Xiong Zhang <xiong.y.zhang@linux.intel.com>"
	"Mingwei Zhang <mizhang@google.com>"
	"Jim Mattson <jmattson@google.com>"
)

to=${SEND_TO:-$(gm --nol "${patches[@]}" | paste -sd, -)}
cc=${SEND_CC:-$({ gm --nom "${patches[@]}"; printf '%s\n' "${PEOPLE[@]}"; } | awk '!seen[$0]++' | paste -sd, -)}
[ -n "$to" ] || die "no recipients: get_maintainer.pl found no maintainers (set SEND_TO)"

# Insert To: and Cc: (folded, one address per line) before Subject:, and
# append the sender's Signed-off-by: to the chain (the last trailer before
# the "---" that ends the commit message), unless it ends with it already.
add_headers() {
	awk -v to="$to" -v cc="$cc" -v sob="Signed-off-by: $sender" '
	function header(name, list,    n, a, i, s) {
		n = split(list, a, /, */)
		s = name ": " a[1]
		for (i = 2; i <= n; i++)
			s = s ",\n " a[i]
		return s
	}
	!done && /^Subject: / {
		print header("To", to)
		if (cc != "")
			print header("Cc", cc)
		done = 1
	}
	!ended && /^---$/ {
		if (last_sob != "" && last_sob != sob)
			print sob
		ended = 1
	}
	!ended && /^Signed-off-by: / { last_sob = $0 }
	{ print }' "$1"
}

rm -rf "$out.new"
mkdir -p "$out.new"
for p in "$cover" "${patches[@]}"; do
	add_headers "$p" > "$out.new/${p##*/}"
done

# git send-email takes To:/Cc: from the files; --dry-run sends nothing.
mapfile -t mails < <(find "$out.new" -name '*.patch' | sort)
if ! git -C "$SERIES_TREE" send-email --dry-run --confirm=never --suppress-cc=all \
	--from="$sender" "${mails[@]}" < /dev/null > "$out.new/dry-run.log" 2>&1; then
	tail -n 20 "$out.new/dry-run.log" >&2
	die "git send-email --dry-run failed (log: $out.new/dry-run.log)"
fi
ok=$(grep -c '^Result: OK' "$out.new/dry-run.log" || true)
[ "$ok" -eq ${#mails[@]} ] ||
	die "git send-email --dry-run accepted $ok of ${#mails[@]} mails (log: $out.new/dry-run.log)"
rm -rf "$out"
mv "$out.new" "$out"

printf 'Prepared %s mails in %s (git send-email --dry-run: OK)\n' "${#mails[@]}" "$out"
printf 'From: %s\nTo: %s\nCc: %s\n' "$sender" "$to" "$cc"
if [ "${SEND:-}" = yes ]; then
	mapfile -t mails < <(find "$out" -name '*.patch' | sort)
	exec git -C "$SERIES_TREE" send-email --confirm=always --suppress-cc=all \
		--from="$sender" "${mails[@]}"
fi
printf 'Nothing was sent.  To send: make send SEND=yes (asks before every mail).\n'
