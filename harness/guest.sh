#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build the PMU demo guest (multiboot, 32-bit) with the system compiler.

. "$(dirname "$0")/common.sh"

out="$BUILD/demo/guest.elf"
srcs=("$TOP"/demo/guest/boot.S "$TOP"/demo/guest/guest.c "$TOP"/demo/guest/link.ld)
if [ -f "$out" ] && [ -z "$(find "${srcs[@]}" -newer "$out")" ]; then
    exit 0
fi
mkdir -p "$BUILD/demo"
gcc -m32 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
    -fcf-protection=none -mgeneral-regs-only -O2 -Wall -Werror \
    -nostdlib -static -no-pie -Wl,-T,"$TOP/demo/guest/link.ld" \
    -Wl,--build-id=none -Wl,--no-warn-rwx-segments \
    -o "$out" "$TOP/demo/guest/boot.S" "$TOP/demo/guest/guest.c" ||
    die "building the demo guest failed"
echo "    demo guest: ${out#$TOP/}"
