#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch Linux 7.3.y as Debian ships it (binary package linux-source-7.3),
# import it into a git repository in the cache and tag it "base".
#
# Suites are tried in order: trixie-backports, experimental, sid.  Only a
# 7.3.N upstream version is accepted (no -rc).  apt runs with a private
# configuration under the cache; the machine's apt setup is never touched
# and the package is never installed.  A second run reuses the import; a
# newer Debian build of 7.3.y replaces it.
#
# Environment: KVM_PMU_CACHE (cache directory), KVM_PMU_REFRESH=1 (refresh
# the package lists even if they are recent).

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

PKG=linux-source-7.3
DEB_SERIES=7.3
SUITES="trixie-backports experimental sid"
MIRROR=$(debian_mirror) || exit 1
APT_DIR=$CACHE/apt

need_cmd apt-get apt
need_cmd dpkg-deb dpkg
need_cmd git git
need_cmd xz xz-utils

apt_opts=(
	-o "Dir::Etc::SourceList=$APT_DIR/sources.list"
	-o "Dir::Etc::SourceParts=/dev/null"
	-o "Dir::Etc::Preferences=/dev/null"
	-o "Dir::Etc::PreferencesParts=/dev/null"
	-o "Dir::State::Lists=$APT_DIR/lists"
	-o "Dir::State::Status=/dev/null"
	-o "Dir::Cache=$APT_DIR/cache"
	-o "Debug::NoLocking=1"
	-o "APT::Get::List-Cleanup=0"
	-o "Acquire::Retries=2"
	-o "APT::Sandbox::User=root"
)

setup_apt() {
	local s

	mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial"
	for s in $SUITES; do
		printf 'deb %s %s main\n' "$MIRROR" "$s"
	done > "$APT_DIR/sources.list.new"
	mv "$APT_DIR/sources.list.new" "$APT_DIR/sources.list"
}

# Refresh the private package lists when missing, older than a day, or
# when asked to.  Returns non-zero when the refresh failed.
refresh_lists() {
	local stamp=$APT_DIR/updated

	if [ -z "${KVM_PMU_REFRESH:-}" ] && [ -f "$stamp" ] &&
	   [ -n "$(find "$stamp" -mmin -1440)" ]; then
		return 0
	fi
	step "refresh package lists ($SUITES)"
	if ! apt-get "${apt_opts[@]}" -q update > "$APT_DIR/update.log" 2>&1; then
		sed 's/^/    /' "$APT_DIR/update.log" >&2
		step_done
		return 1
	fi
	touch "$stamp"
	step_done
}

# Print "suite version" of the newest 7.3.N build in the first suite that
# has one.
pick_version() {
	local s v

	for s in $SUITES; do
		v=$(apt-cache "${apt_opts[@]}" madison "$PKG" 2>/dev/null |
			awk -F'|' -v s=" $s/" 'index($3, s) { gsub(/ /, "", $2); print $2 }' |
			grep -E "^${DEB_SERIES//./\\.}\.[0-9]+-" | sort -V | tail -n 1) || true
		if [ -n "$v" ]; then
			printf '%s %s\n' "$s" "$v"
			return 0
		fi
	done
	return 1
}

import_base() {
	local suite=$1 ver=$2 tmp src tarball up date

	tmp=$(mktemp -d "$CACHE/import.XXXXXX")
	# Anything half-done stays in $tmp and is removed on failure.
	trap 'rm -rf "$tmp"' EXIT

	step "download $PKG $ver ($suite)"
	mkdir -p "$tmp/dl"
	(cd "$tmp/dl" && apt-get "${apt_opts[@]}" -q download "$PKG=$ver") ||
		die "apt-get download $PKG=$ver from $suite failed"
	step_done

	step "extract $PKG $ver"
	dpkg-deb -x "$tmp"/dl/*.deb "$tmp/deb"
	tarball=$tmp/deb/usr/src/$PKG.tar.xz
	[ -f "$tarball" ] || die "$PKG $ver: no usr/src/$PKG.tar.xz in the package"
	tar -C "$tmp" -xf "$tarball"
	src=$tmp/$PKG
	[ -f "$src/Makefile" ] || die "$PKG $ver: the tarball has no $PKG/Makefile"
	rm -rf "$tmp/dl" "$tmp/deb"
	up=$(make -s -C "$src" kernelversion)
	case "$up" in
	"$DEB_SERIES".[0-9]*) ;;
	*) die "$PKG $ver unpacks to Linux $up, not $DEB_SERIES.y" ;;
	esac
	# Debian's .gitignore ignores the whole top level ("/*", "!/debian/"):
	# drop that block so the tree can be imported.
	sed -i -e '/^# Debian packaging: ignore everything at the top level/,/^!\/debian\/$/d' \
		"$src/.gitignore"
	sed -i -e '${/^#$/d}' "$src/.gitignore"
	if grep -qx '/\*' "$src/.gitignore"; then
		die "$PKG $ver: could not drop the top-level '/*' rule from .gitignore"
	fi
	step_done

	step "import Linux $up into git"
	date="@$(stat -c %Y "$src/Makefile") +0000"
	git -C "$src" init -q
	git -C "$src" config core.untrackedCache true
	# No automatic gc: it would repack in the background while builds run.
	git -C "$src" config gc.auto 0
	# The tarball is a clean source tree: import every file of it, also
	# those the kernel's own ignore rules match (e.g. .gitignore itself).
	git -C "$src" add -A --force
	if [ -n "$(git -C "$src" ls-files --others | sed -n '1,1p')" ]; then
		die "$PKG $ver: files left out of the import: $(git -C "$src" ls-files --others | sed -n '1,3p')"
	fi
	GIT_AUTHOR_NAME="Debian $PKG" GIT_AUTHOR_EMAIL="debian-kernel@lists.debian.org" \
	GIT_COMMITTER_NAME="kvm-pmu-v5 workbench" GIT_COMMITTER_EMAIL="kvm-pmu-v5@localhost" \
	GIT_AUTHOR_DATE="$date" GIT_COMMITTER_DATE="$date" \
		git -C "$src" commit -q --no-verify \
		-m "Linux $up (Debian $PKG $ver)" \
		-m "Imported from the Debian binary package $PKG $ver ($suite), Debian patches applied. Not an upstream commit."
	git -C "$src" tag base
	git -C "$src" config user.name >/dev/null ||
		git -C "$src" config user.name "kvm-pmu-v5 developer"
	git -C "$src" config user.email >/dev/null ||
		git -C "$src" config user.email "kvm-pmu-v5@localhost"
	step_done

	cat > "$tmp/base.env" <<-ENV
	DEB_PACKAGE=$PKG
	DEB_SERIES=$DEB_SERIES
	DEB_VERSION=$ver
	DEB_SUITE=$suite
	UPSTREAM_VERSION=$up
	IMPORT_COMMIT=$(git -C "$src" rev-parse HEAD)
	ENV

	# Replace the old base, and everything built from it, in one go.
	rm -rf "$BASE_DIR" "$CACHE/build-debian"
	mkdir -p "$BASE_DIR"
	mv "$src" "$BASE_REPO"
	mv "$tmp/base.env" "$BASE_ENV"
	printf '%s\n' "$ver" > "$BASE_STAMP"
	rm -rf "$tmp"
	trap - EXIT
}

lock_cache
setup_apt

if [ -e "$CACHE/work" ]; then
	work_guard=1
else
	work_guard=
fi

have=
if [ -f "$BASE_STAMP" ]; then
	have=$(cat "$BASE_STAMP")
fi

if ! refresh_lists; then
	if [ -n "$have" ]; then
		msg "warning: cannot refresh the package lists; using the cached base $PKG $have"
		exit 0
	fi
	die "cannot fetch the package lists for $PKG (suites: $SUITES from $MIRROR); see $APT_DIR/update.log"
fi

if ! pick=$(pick_version); then
	if [ -n "$have" ]; then
		msg "warning: no $DEB_SERIES.y build of $PKG in $SUITES any more; using the cached $have"
		exit 0
	fi
	die "no $DEB_SERIES.y build of $PKG in the suites $SUITES ($MIRROR). The base has moved on: see Documentation/rebasing.md"
fi
suite=${pick%% *}
ver=${pick#* }

if [ "$have" = "$ver" ] && [ -d "$BASE_REPO/.git" ]; then
	msg "base up to date: $PKG $ver in $BASE_REPO"
	exit 0
fi
if [ -n "$have" ]; then
	if [ -n "$work_guard" ]; then
		die "$PKG changed from $have to $ver, but the work tree $CACHE/work exists: run 'make export', commit, remove it with 'make clean-work', then re-run (see Documentation/rebasing.md)"
	fi
	msg "$PKG changed from $have to $ver: re-importing the base"
fi
import_base "$suite" "$ver"
msg "base: $PKG $ver ($suite) imported into $BASE_REPO, tag 'base'"
