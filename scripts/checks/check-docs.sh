#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Check: the documentation the series changes builds with the tree's own
# tooling, restricted to the Documentation/ subdirectories it touches
# (e.g. "make SPHINXDIRS=virt htmldocs"; a full htmldocs takes far too long
# on a small machine), without a Sphinx warning or error in any file the
# series changes, and with an HTML page for every .rst file it changes.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

NAME="documentation builds (htmldocs)"

resolve_base
mapfile -t rsts < <(git -C "$SERIES_TREE" diff --name-only --diff-filter=AM \
	"$BASE_REV" HEAD -- 'Documentation/*.rst')
if [ ${#rsts[@]} -eq 0 ]; then
	report skip "$NAME" "the series changes no .rst file"
	exit 0
fi
need_cmd sphinx-build python3-sphinx

# The top-level directories under Documentation/ that the series touches.
dirs=$(printf '%s\n' "${rsts[@]}" | cut -d/ -f2 | sort -u | paste -sd' ' -)
obj=$BUILD_DIR/docs
log=$BUILD_DIR/logs/htmldocs.log
# From scratch: an incremental Sphinx build doesn't repeat the warnings of
# pages it doesn't rebuild.
rm -rf "$obj"
mkdir -p "$obj" "$BUILD_DIR/logs"

# Sphinx under /usr/bin/python3 (PATH may have another python first), and
# without __pycache__ directories in the source tree.
if ! PYTHONDONTWRITEBYTECODE=1 make -C "$SERIES_TREE" O="$obj" \
	PYTHON3=/usr/bin/python3 SPHINXDIRS="$dirs" htmldocs > "$log" 2>&1; then
	report fail "$NAME" "make SPHINXDIRS=\"$dirs\" htmldocs failed, log: $log"
	tail -n 20 "$log" | indent
	exit 0
fi

bad=()
for f in "${rsts[@]}"; do
	grep -E "(^|/)$f(:[0-9]+)?: (WARNING|ERROR|CRITICAL)" "$log" > /dev/null &&
		bad+=("$f")
	page=${f#Documentation/}
	[ -f "$obj/Documentation/output/${page%.rst}.html" ] ||
		bad+=("$f (no HTML page)")
done
if [ ${#bad[@]} -eq 0 ]; then
	report pass "$NAME: SPHINXDIRS=\"$dirs\", ${#rsts[@]} changed .rst file(s) without warnings"
else
	report fail "$NAME" "problems in: ${bad[*]}; log: $log"
	for f in "${rsts[@]}"; do
		grep -F "$f" "$log" | grep -E 'WARNING|ERROR|CRITICAL' || true
	done | sed -n '1,20p' | indent
fi
