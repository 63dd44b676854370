#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Write the kernel configuration for the series tree: x86_64 defconfig (or
# KCONFIG_BASE=/path/to/config, e.g. an Intel test host's distro config)
# plus KVM with KVM_INTEL=m, KVM_AMD=m, KVM_WERROR=y and PERF_EVENTS, then
# check that the final .config really has every required value: Kconfig
# silently drops a symbol whose dependencies are not met.

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../lib.sh"

# symbol=value pairs the build is judged with.
REQUIRED="X86_64=y EXPERT=y PERF_EVENTS=y CPU_SUP_INTEL=y CPU_SUP_AMD=y
KVM=m KVM_INTEL=m KVM_AMD=m KVM_WERROR=y"

lock_cache
resolve_base
[ -f "$STAMPS/applied" ] || die "the series is not applied in $SERIES_TREE: run 'make apply'"

if [ -n "${KCONFIG_BASE:-}" ]; then
	[ -f "$KCONFIG_BASE" ] || die "KCONFIG_BASE=$KCONFIG_BASE is not a file"
	inputs=$(sha1sum < "$KCONFIG_BASE")
else
	inputs=defconfig
fi
# The configuration depends on the inputs and on the Kconfig files, not on
# the rest of the series (keeping the key stable keeps the bisect cache).
kconfigs=$(git -C "$SERIES_TREE" ls-tree -r HEAD | grep -E '/Kconfig[^/]*$|	Kconfig[^/]*$' | sha1sum)
key=$(printf '%s\n' "$inputs" "$REQUIRED" "$kconfigs" | sha1sum | cut -c1-40)
stamp=$STAMPS/config
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] && [ -f "$OBJ/.config" ]; then
	msg "config up to date: $OBJ/.config"
	exit 0
fi
rm -f "$stamp"

step "configure the kernel (${KCONFIG_BASE:-x86_64 defconfig} + KVM)"
mkdir -p "$OBJ"
kmake() { make -s -C "$SERIES_TREE" O="$OBJ" ARCH=x86_64 "$@"; }
if [ -n "${KCONFIG_BASE:-}" ]; then
	cp "$KCONFIG_BASE" "$OBJ/.config"
else
	kmake x86_64_defconfig >/dev/null
fi
args=()
for kv in $REQUIRED; do
	sym=${kv%=*}
	case "${kv#*=}" in
	y) args+=(--enable "$sym") ;;
	m) args+=(--module "$sym") ;;
	esac
done
"$SERIES_TREE/scripts/config" --file "$OBJ/.config" "${args[@]}" \
	--disable KASAN --disable WERROR
kmake olddefconfig >/dev/null

bad=
for kv in $REQUIRED; do
	if ! grep -qx "CONFIG_$kv" "$OBJ/.config"; then
		have=$(grep -E "^(# )?CONFIG_${kv%=*}[= ]" "$OBJ/.config" || echo "CONFIG_${kv%=*} missing")
		msg "$OBJ/.config: want CONFIG_$kv, have '$have'"
		bad=1
	fi
done
[ -z "$bad" ] || die "the kernel configuration lacks required symbols (unmet Kconfig dependencies?)"
printf '%s\n' "$key" > "$stamp"
step_done
