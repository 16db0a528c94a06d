#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build the patched emulator and the tests that `make check` runs.

. "$(dirname "$0")/common.sh"

info "building QEMU $(cat "$BUILD/qemu-version") with the series"
start=$(date +%s)
ninja_build "$OBJ" "$OBJ/build.log" ||
    { grep -E "error|FAILED" "$OBJ/build.log" | head -20 >&2;
      die "build failed (log: $OBJ/build.log)"; }
if [ "$OBJ" = "$BUILD/obj" ]; then
    ln -sf obj/qemu-system-x86_64 "$BUILD/qemu-system-x86_64"
fi
# Run from the build tree, QEMU looks for firmware under qemu-bundle/
for dir in /usr/share/seabios /usr/share/qemu /usr/lib/ipxe/qemu; do
    mkdir -p "$OBJ/qemu-bundle$(dirname "$dir")"
    ln -sfn "$dir" "$OBJ/qemu-bundle$dir"
done
echo "    $(tail -1 "$OBJ/build.log" | sed 's/^\[[0-9/]*\] //') ($(( $(date +%s) - start ))s)"
echo "    emulator: ${OBJ#$TOP/}/qemu-system-x86_64"
"$TOP/harness/guest.sh"
