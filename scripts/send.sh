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

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

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

to=${SEND_TO:-$(gm --nol "${patches[@]}" | paste -sd, -)}
cc=${SEND_CC:-$(gm --nom "${patches[@]}" | paste -sd, -)}
[ -n "$to" ] || die "no recipients: get_maintainer.pl found no maintainers (set SEND_TO)"

# Insert To: and Cc: (folded, one address per line) before Subject:.
add_headers() {
	awk -v to="$to" -v cc="$cc" '
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
	"${mails[@]}" < /dev/null > "$out.new/dry-run.log" 2>&1; then
	tail -n 20 "$out.new/dry-run.log" >&2
	die "git send-email --dry-run failed (log: $out.new/dry-run.log)"
fi
ok=$(grep -c '^Result: OK' "$out.new/dry-run.log" || true)
[ "$ok" -eq ${#mails[@]} ] ||
	die "git send-email --dry-run accepted $ok of ${#mails[@]} mails (log: $out.new/dry-run.log)"
rm -rf "$out"
mv "$out.new" "$out"

printf 'Prepared %s mails in %s (git send-email --dry-run: OK)\n' "${#mails[@]}" "$out"
printf 'To: %s\nCc: %s\n' "$to" "$cc"
if [ "${SEND:-}" = yes ]; then
	mapfile -t mails < <(find "$out" -name '*.patch' | sort)
	exec git -C "$SERIES_TREE" send-email --confirm=always --suppress-cc=all "${mails[@]}"
fi
printf 'Nothing was sent.  To send: make send SEND=yes (asks before every mail).\n'
