#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build bench/encode-driver.c against the objects of the QEMU build, with
# the compiler and linker commands that meson uses for the object's unit
# test, so the driver runs the same optimised code as QEMU.

. "$(dirname "$0")/common.sh"

UNIT=tests/unit/test-kvm-pmu-filter
OUT=$BUILD/bench
mkdir -p "$OUT"
cd "$OBJ"
encoder=$(ninja -t query tests/unit/test-kvm-x86-pmu-encode |
          sed -n 's/^ *\(.*pmu-filter-encode\.c\.o\)$/\1/p' | head -1)
[ -n "$encoder" ] || die "no encoder object in $OBJ"
compile=$(ninja -t commands "$UNIT.p/test-kvm-pmu-filter.c.o" | tail -1)
compile=$(echo "$compile" | sed -e 's/^ccache //' \
    -e 's| -MD -MQ [^ ]* -MF [^ ]*||' \
    -e "s| -o [^ ]* -c [^ ]*\$| -o $OUT/encode-driver.o -c $TOP/bench/encode-driver.c|")
link=$(ninja -t commands "$UNIT" | tail -1)
link=$(echo "$link" | sed \
    -e "s| $UNIT.p/test-kvm-pmu-filter.c.o| $OUT/encode-driver.o $encoder|" \
    -e "s| -o $UNIT | -o $OUT/encode-driver |")
eval "$compile" && eval "$link" || die "cannot build the benchmark driver"
