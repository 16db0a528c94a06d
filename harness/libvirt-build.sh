#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build build/libvirt in build/libvirt-obj: the QEMU driver, the daemons
# and client it needs, and the tests; no other hypervisor driver, no
# storage backend beyond directories, no docs.  With TARGET arguments,
# only those ninja targets.

. "$(dirname "$0")/common.sh"

LV_SRC=${KPF_LIBVIRT_SRC:-$BUILD/libvirt}
LV_OBJ=${KPF_LIBVIRT_OBJ:-$BUILD/libvirt-obj}

# Installed paths as Debian's, so that the daemons of the build tree find
# their configuration and sockets where the tests' namespace has them
OPTS=(
    --prefix=/usr --sysconfdir=/etc --localstatedir=/var -Drunstatedir=/run
    -Ddriver_qemu=enabled -Ddriver_remote=enabled -Ddriver_libvirtd=enabled
    -Ddriver_test=enabled -Ddriver_network=enabled -Ddriver_secrets=enabled
    -Dtests=enabled -Dexpensive_tests=disabled -Ddocs=disabled
)
for off in driver_bhyve driver_esx driver_hyperv driver_interface \
           driver_libxl driver_lxc driver_ch driver_openvz driver_vbox \
           driver_vmware driver_vz storage_disk storage_gluster \
           storage_iscsi storage_iscsi_direct storage_lvm storage_mpath \
           storage_rbd storage_scsi storage_vstorage storage_zfs \
           apparmor selinux polkit sasl firewalld nss; do
    OPTS+=("-D$off=disabled")
done

stamp=$LV_OBJ/.kpf-options
if [ ! -f "$LV_OBJ/build.ninja" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${OPTS[*]}" ]; then
    info "configuring libvirt in ${LV_OBJ#$TOP/}"
    again=()
    [ ! -f "$LV_OBJ/build.ninja" ] || again=(--reconfigure)
    CC="ccache gcc" meson setup "${again[@]}" "$LV_OBJ" "$LV_SRC" "${OPTS[@]}" \
        > "$BUILD/libvirt-configure.log" 2>&1 ||
        { tail -20 "$BUILD/libvirt-configure.log"
          die "configuring libvirt failed (log: ${BUILD#$TOP/}/libvirt-configure.log)"; }
    echo "${OPTS[*]}" > "$stamp"
fi
info "building libvirt"
ninja_build "$LV_OBJ" "$LV_OBJ/build.log" "$@" ||
    { grep -E "error|FAILED" "$LV_OBJ/build.log" | head -20
      die "building libvirt failed (log: ${LV_OBJ#$TOP/}/build.log)"; }
