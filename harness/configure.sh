#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Configure a lean, KVM-only x86_64 build of build/qemu in build/obj.

. "$(dirname "$0")/common.sh"

OPTS=(
    --target-list=x86_64-softmmu
    "${LEAN_CONFIGURE[@]}"
    --enable-slirp
    --disable-relocatable
    --firmwarepath=/usr/share/seabios:/usr/share/qemu:/usr/lib/ipxe/qemu
    "--cc=ccache gcc"
    ${EXTRA_CONFIGURE:-}
)
configure_qemu "$OBJ" "${OPTS[@]}"
