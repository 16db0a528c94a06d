#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build $BUILD/kernel-filter/kernel-filter: Linux's own PMU event filter
# code, taken by name from Debian's newest linux source at test time
# (harness/kernel-filter.py), for the end-to-end tests to judge every
# filter QEMU installs by; and perf-arch-events.json, how Linux's perf
# in a guest reads CPUID leaf 0xA (harness/perf-arch-events.py).

. "$(dirname "$0")/common.sh"

tree=$("$TOP/harness/fetch-linux.sh")
out=$BUILD/kernel-filter
mkdir -p "$out"
python3 "$TOP/harness/kernel-filter.py" "$tree" "$out/kernel-filter.c.new"
if ! cmp -s "$out/kernel-filter.c.new" "$out/kernel-filter.c" ||
   [ ! -x "$out/kernel-filter" ]; then
    mv "$out/kernel-filter.c.new" "$out/kernel-filter.c"
    gcc -O2 -Wall -Werror -o "$out/kernel-filter" "$out/kernel-filter.c" ||
        die "cannot compile the kernel's filter code of Linux" \
            "$(cat "$tree/VERSION") (generated: ${out#$TOP/}/kernel-filter.c)"
fi
rm -f "$out/kernel-filter.c.new"
python3 "$TOP/harness/perf-arch-events.py" "$tree" \
        "$out/perf-arch-events.json" ||
    die "cannot read perf's architectural events of Linux" \
        "$(cat "$tree/VERSION")"
echo "    kernel filter code: Linux $(cat "$tree/VERSION"), ${out#$TOP/}/kernel-filter"
