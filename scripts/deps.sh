#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what the workbench needs beyond the base image, with apt-get
# from the machine's own Debian sources, so that a fresh machine (and CI)
# needs nothing by hand.  Only missing packages are installed.
#
# sparse: the kernel's checker-valid.sh requires __typeof_unqual__, which
# Debian bookworm's sparse 0.6.4 lacks.  When the installed sparse cannot
# parse it, build sparse from Debian's newest source package (sid) into the
# cache; apt runs with a private configuration for that download.
#
# Bochs: the testbed's emulated Intel host is upstream Bochs at a pinned
# commit with the project's patches, built into the cache by
# scripts/testbed/build-bochs.sh from BOCHS_SRC (see there); Debian's bochs
# packages are not used.
#
# busybox: the testbed's initramfs needs a static busybox with poweroff.
# The machine may have Debian's dynamic 'busybox' package at /bin/busybox,
# and installing 'busybox-static' would remove it, so the binary package
# 'busybox-static' of the machine's Debian release is downloaded (private
# apt configuration) and unpacked into the cache instead.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

# "package test" pairs: a command name, or a file that the package ships.
WANT="
git git
make make
gcc gcc
flex flex
bison bison
bc bc
perl perl
python3 python3
xz-utils xz
cpio cpio
kmod depmod
quilt quilt
b4 b4
shellcheck shellcheck
codespell codespell
sparse sparse
libelf-dev /usr/include/gelf.h
libssl-dev /usr/include/openssl/ssl.h
uuid-dev /usr/include/uuid/uuid.h
python3-ply /usr/lib/python3/dist-packages/ply/__init__.py
python3-git /usr/lib/python3/dist-packages/git/__init__.py
git-email /usr/lib/git-core/git-send-email
libmailtools-perl /usr/share/perl5/Mail/Address.pm
python3-sphinx /usr/bin/sphinx-build
linux-libc-dev /usr/include/linux/kvm.h
python3-yaml /usr/lib/python3/dist-packages/yaml/__init__.py
g++ g++
ccache ccache
patch patch
grub-pc-bin /usr/lib/grub/i386-pc/modinfo.sh
grub-common grub-mkrescue
xorriso xorriso
mtools mformat
"

missing=()
while read -r pkg test; do
	[ -n "$pkg" ] || continue
	case "$test" in
	/*) [ -e "$test" ] && continue ;;
	*) command -v "$test" >/dev/null 2>&1 && continue ;;
	esac
	missing+=("$pkg")
done <<< "$WANT"

apt_install() {
	local sudo=()

	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null 2>&1 ||
			die "not root and no sudo: install these Debian packages: $*"
		sudo=(sudo -n)
	fi
	export DEBIAN_FRONTEND=noninteractive
	if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "$@" > "$CACHE/deps.log" 2>&1; then
		msg "apt-get install failed; refreshing the machine's package lists and retrying"
		"${sudo[@]}" apt-get update -q >> "$CACHE/deps.log" 2>&1 || true
		"${sudo[@]}" apt-get install -y -q --no-install-recommends "$@" >> "$CACHE/deps.log" 2>&1 || {
			tail -n 20 "$CACHE/deps.log" >&2
			die "apt-get install of the Debian packages '$*' failed (log: $CACHE/deps.log)"
		}
	fi
}

mkdir -p "$CACHE"
if [ ${#missing[@]} -gt 0 ]; then
	step "install Debian packages: ${missing[*]}"
	apt_install "${missing[@]}"
	step_done
fi

# Does "$1" parse what the kernel's scripts/checker-valid.sh feeds it?
sparse_ok() {
	local t out

	t=$(mktemp --suffix=.c)
	printf 'static inline int u(const int *q)\n{\n\t__typeof_unqual__(*q) v = *q;\n\treturn v;\n}\n' > "$t"
	out=$("$1" --arch=x86_64 -m64 "$t" 2>&1) || true
	rm -f "$t"
	! grep -q error <<< "$out"
}

SPARSE_DIR=$CACHE/tools/sparse
if ! sparse_ok sparse && ! { [ -x "$SPARSE_DIR/sparse" ] && sparse_ok "$SPARSE_DIR/sparse"; }; then
	step "build sparse from Debian's source package (the installed one is too old)"
	tmp=$(mktemp -d "$CACHE/sparse.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial"
	mirror=$(debian_mirror) || exit 1
	printf 'deb-src %s sid main\n' "$mirror" > "$tmp/sources.list"
	sopts=(-o "Dir::Etc::SourceList=$tmp/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
	       -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache"
	       -o "Dir::State::Status=/dev/null" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
	if ! { apt-get "${sopts[@]}" -q update > "$tmp/apt.log" 2>&1 &&
	       (cd "$tmp" && apt-get "${sopts[@]}" -q source --download-only sparse >> "$tmp/apt.log" 2>&1); }; then
		cat "$tmp/apt.log" >&2
		die "cannot download the Debian source package 'sparse' (sid)"
	fi
	tar -C "$tmp" -xf "$tmp"/sparse_*.orig.tar.*
	srcdir=$(find "$tmp" -maxdepth 1 -type d -name 'sparse-*' | sed -n '1,1p')
	[ -n "$srcdir" ] || die "the Debian source package 'sparse' has no sparse-* directory"
	make -C "$srcdir" -j"$JOBS" sparse > "$tmp/build.log" 2>&1 || {
		tail -n 20 "$tmp/build.log" >&2
		die "building sparse from the Debian source package failed"
	}
	sparse_ok "$srcdir/sparse" || die "sparse built from Debian sid still lacks __typeof_unqual__"
	rm -rf "$SPARSE_DIR"
	mkdir -p "$SPARSE_DIR"
	cp "$srcdir/sparse" "$SPARSE_DIR/sparse"
	step_done
fi
# A static busybox that has the poweroff applet?
busybox_ok() {
	# The list is read whole first: "busybox --list | grep -q" fails under
	# pipefail whenever grep exits before busybox has written (SIGPIPE).
	[ -x "$1" ] && grep -qx poweroff <<< "$("$1" --list 2>/dev/null)" && ! ldd "$1" >/dev/null 2>&1
}

BB_DIR=$CACHE/tools/busybox
if ! busybox_ok "$BB_DIR/bin/busybox"; then
	step "unpack Debian's busybox-static into the cache"
	codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null | tr -d '"')
	[ -n "$codename" ] || die "/etc/os-release names no VERSION_CODENAME: cannot pick the Debian release for 'busybox-static'"
	mirror=$(debian_mirror) || exit 1
	btmp=$(mktemp -d "$CACHE/busybox.XXXXXX")
	trap 'rm -rf "${tmp:-}" "$btmp"' EXIT
	mkdir -p "$btmp/lists/partial" "$btmp/cache/archives/partial"
	printf 'deb %s %s main\n' "$mirror" "$codename" > "$btmp/sources.list"
	bopts=(-o "Dir::Etc::SourceList=$btmp/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
	       -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=/dev/null"
	       -o "Dir::State::Lists=$btmp/lists" -o "Dir::Cache=$btmp/cache"
	       -o "Dir::State::Status=/dev/null" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
	if ! { apt-get "${bopts[@]}" -q update > "$btmp/apt.log" 2>&1 &&
	       (cd "$btmp" && apt-get "${bopts[@]}" -q download busybox-static >> "$btmp/apt.log" 2>&1); }; then
		cat "$btmp/apt.log" >&2
		die "cannot download the Debian package 'busybox-static' ($codename, $mirror)"
	fi
	deb=$(find "$btmp" -maxdepth 1 -name 'busybox-static_*.deb' | sed -n '1,1p')
	[ -n "$deb" ] || die "apt-get download left no busybox-static_*.deb in $btmp"
	dpkg-deb -x "$deb" "$btmp/root"
	busybox_ok "$btmp/root/bin/busybox" ||
		die "$deb has no static busybox with poweroff at /bin/busybox"
	rm -rf "$BB_DIR"
	mkdir -p "$BB_DIR/bin"
	cp "$btmp/root/bin/busybox" "$BB_DIR/bin/busybox"
	dpkg-deb -f "$deb" Version > "$BB_DIR/version"
	step_done
fi
"$TOP/scripts/testbed/build-bochs.sh"
msg "tools ready (sparse: $(sparse_bin), busybox: $BB_DIR/bin/busybox $(cat "$BB_DIR/version" 2>/dev/null), bochs: $BOCHS_DIR/bin/bochs $(cut -c1-12 "$BOCHS_DIR/commit"))"
