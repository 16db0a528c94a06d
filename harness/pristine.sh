#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build QEMU without the series, from the commit the series sits on, in
# build/pristine (a git worktree of build/qemu at its base tag) and
# build/pristine-obj, configured as build/obj is.  The compatibility
# test compares the patched emulator with it.

. "$(dirname "$0")/common.sh"

TREE=$BUILD/pristine
POBJ=$BUILD/pristine-obj
base=$(git -C "$SRC" rev-parse "$BASE_TAG")
if [ "$(git -C "$TREE" rev-parse HEAD 2>/dev/null)" != "$base" ]; then
    rm -rf "$TREE"
    git -C "$SRC" worktree prune
    git -C "$SRC" worktree add -q --detach "$TREE" "$BASE_TAG"
fi
info "building pristine QEMU ($(git -C "$SRC" log -1 --format=%s "$BASE_TAG" | cut -c1-50)...)"
KPF_SRC=$TREE KPF_OBJ=$POBJ \
    "$TOP/harness/configure.sh"
ninja_build "$POBJ" "$POBJ/build.log" qemu-system-x86_64 ||
    { grep -E "error|FAILED" "$POBJ/build.log" | head -20 >&2
      die "pristine build failed (log: $POBJ/build.log)"; }
echo "    emulator: ${POBJ#$TOP/}/qemu-system-x86_64"
