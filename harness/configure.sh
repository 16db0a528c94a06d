#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Configure a lean, KVM-only x86_64 build of build/qemu in build/obj.
# Re-runs configure only when the options below change; meson itself
# regenerates the build when a meson.build file changes.

. "$(dirname "$0")/common.sh"

OPTS=(
    --target-list=x86_64-softmmu
    --disable-tcg
    --enable-kvm
    --without-default-features
    --enable-slirp
    --enable-fdt=system
    --disable-docs
    --disable-rust
    --disable-install-blobs
    --disable-relocatable
    --python=/usr/bin/python3
    --firmwarepath=/usr/share/seabios:/usr/share/qemu:/usr/lib/ipxe/qemu
    "--cc=ccache gcc"
    ${EXTRA_CONFIGURE:-}
)
stamp="$OBJ/.configure-options"
if [ -f "$OBJ/build.ninja" ] &&
   [ "$(cat "$stamp" 2>/dev/null)" = "$SRC ${OPTS[*]}" ]; then
    exit 0
fi

info "configuring QEMU in $OBJ"
rm -rf "$OBJ"
mkdir -p "$OBJ"
mkdir -p "$CCACHE_DIR"
(cd "$OBJ" && "$SRC/configure" "${OPTS[@]}" > configure.log 2>&1) ||
    { tail -20 "$OBJ/configure.log" >&2; die "QEMU's configure failed (log: $OBJ/configure.log)"; }
echo "$SRC ${OPTS[*]}" > "$stamp"
