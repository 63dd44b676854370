#!/bin/sh
# Boot an ISO made by make-iso.sh under a Bochs binary and print the
# serial console and the wall time.
#
# Usage: run.sh BOCHS ISO MODEL OUTDIR ["extra cpu: options"]
# BIOS images: $BXSHARE (default /usr/local/share/bochs) holding
# BIOS-bochs-latest and VGABIOS-lgpl-latest.bin.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bochs=$1 iso=$2 model=$3 out=$4 cpuopts=${5:-}
share=${BXSHARE:-/usr/local/share/bochs}
mkdir -p "$out"
[ -n "$cpuopts" ] && cpuopts=", $cpuopts"
sed -e "s|@MODEL@|$model|" -e "s|@CPUOPTS@|$cpuopts|" \
    -e "s|@ROMIMAGE@|$share/BIOS-bochs-latest|" \
    -e "s|@VGAROMIMAGE@|$share/VGABIOS-lgpl-latest.bin|" \
    -e "s|@ISO@|$iso|" -e "s|@SERIAL@|$out/serial.txt|" -e "s|@LOG@|$out/bochs.log|" \
    "$here/bochsrc.in" > "$out/bochsrc"
rm -f "$out/serial.txt"
# wall time, and the CPU time of Bochs (less sensitive to other load)
/usr/bin/time -f "wall %e s, user %U s, sys %S s" -o "$out/time.txt" \
	timeout "${TIMEOUT:-3600}" "$bochs" -q -f "$out/bochsrc" < /dev/null > "$out/stdout.txt" 2>&1 || true
cat "$out/time.txt"
