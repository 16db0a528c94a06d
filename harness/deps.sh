#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install, from Debian's archive only, whatever the build and tests lack.
# Arguments name optional groups: docs, bench, fuzz, arm64, libvirt.

. "$(dirname "$0")/common.sh"

BACKPORTS_PKGS="meson python3-pycotap seabios qemu-system-data"
FIRMWARE_PKGS="ipxe-qemu"
PKGS="gcc make git ninja-build pkgconf flex bison ccache python3 python3-venv
      libglib2.0-dev libpixman-1-dev libslirp-dev libfdt-dev zlib1g-dev
      dpkg-dev quilt perl qemu-utils $FIRMWARE_PKGS
      libvirt-daemon-system libvirt-clients"
FOREIGN_ARCH=""
for group in "$@"; do
    case "$group" in
    docs)  PKGS="$PKGS python3-sphinx python3-sphinx-rtd-theme" ;;
    bench) PKGS="$PKGS valgrind"
           BACKPORTS_PKGS="$BACKPORTS_PKGS qemu-system-x86" ;;
    fuzz)  PKGS="$PKGS clang libclang-rt-dev" ;;
    # What libvirt-build.sh's configuration of libvirt needs (dwarves:
    # pdwtags, for the check of the remote protocol's structs)
    libvirt) PKGS="$PKGS curl libxml2-dev libxml2-utils xsltproc
                   libgnutls28-dev libjson-c-dev libtirpc-dev libnl-3-dev
                   libnl-route-3-dev libreadline-dev libcap-ng-dev
                   libudev-dev libpciaccess-dev libacl1-dev libattr1-dev
                   python3-docutils rpcsvc-proto bash-completion
                   dwarves"
             # a QEMU without filters, which libvirt must refuse
             BACKPORTS_PKGS="$BACKPORTS_PKGS qemu-system-x86" ;;
    # Cross build for arm64 hosts; libfdt-dev is not multi-arch, so
    # check-arm64.sh unpacks the arm64 one into its own sysroot.
    arm64) PKGS="$PKGS gcc-aarch64-linux-gnu libc6-dev-arm64-cross
                 libglib2.0-dev:arm64 zlib1g-dev:arm64
                 libpixman-1-dev:arm64 libfdt1:arm64 qemu-user-static"
           FOREIGN_ARCH=arm64 ;;
    *)     die "deps.sh: unknown group '$group'" ;;
    esac
done
SOURCES_DIR=/etc/apt/sources.list.d

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

meson_new_enough() {
    local v
    v=$(dpkg-query -W -f='${Version}' meson 2>/dev/null) || return 1
    dpkg --compare-versions "$v" ge 1.5
}

# QEMU_BASE is in sid's source index, the backport's base in stable's
has_base_source() {
    apt-get source -qq --print-uris "qemu=$QEMU_BASE" >/dev/null 2>&1
}

has_stable_source() {
    apt-get source -qq --print-uris "qemu/$STABLE_SUITE" >/dev/null 2>&1
}

has_sources() {
    has_base_source && has_stable_source && has_backports
}

has_backports() {
    apt-cache policy 2>/dev/null | grep -q 'bookworm-backports/main'
}

# add_source TYPE SUITE: an apt source of ours for Debian's SUITE
add_source() {
    printf '%s\n' "Types: $1" "URIs: http://deb.debian.org/debian" \
        "Suites: $2" "Components: main" \
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" \
        > "$SOURCES_DIR/kvm-pmu-filter-$2-$1.sources"
}

add_sources() {
    has_base_source || add_source deb-src sid
    has_stable_source || add_source deb-src "$STABLE_SUITE"
    has_backports || add_source deb bookworm-backports
}

missing_bpo=()
for p in $BACKPORTS_PKGS; do
    installed "$p" || missing_bpo+=("$p")
done
meson_new_enough || missing_bpo+=(meson)
missing=()
for p in $PKGS; do
    installed "$p" || missing+=("$p")
done
need_src=0
has_sources || need_src=1

if [ ${#missing_bpo[@]} -eq 0 ] && [ ${#missing[@]} -eq 0 ] &&
   [ $need_src -eq 0 ]; then
    exit 0
fi

bpo_cmd="apt-get install -y --no-install-recommends -t bookworm-backports ${missing_bpo[*]:-}"
cmd="apt-get install -y --no-install-recommends ${missing[*]:-}"
if [ "$(id -u)" != 0 ]; then
    echo "error: missing packages; as root, run:" >&2
    [ $need_src -eq 0 ] ||
        echo "  (add deb-src sid and $STABLE_SUITE, and deb bookworm-backports, to apt sources)" >&2
    echo "  apt-get update" >&2
    [ ${#missing_bpo[@]} -eq 0 ] || echo "  $bpo_cmd" >&2
    [ ${#missing[@]} -eq 0 ] || echo "  $cmd" >&2
    exit 1
fi

add_sources
if [ -n "$FOREIGN_ARCH" ] &&
   ! dpkg --print-foreign-architectures | grep -qx "$FOREIGN_ARCH"; then
    info "dpkg --add-architecture $FOREIGN_ARCH"
    dpkg --add-architecture "$FOREIGN_ARCH"
fi
info "apt-get update"
apt-get update -qq || die "'apt-get update' failed"
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing_bpo[@]} -gt 0 ]; then
    info "$bpo_cmd"
    $bpo_cmd -qq >/dev/null || die "'$bpo_cmd' failed"
fi
if [ ${#missing[@]} -gt 0 ]; then
    info "$cmd"
    $cmd -qq >/dev/null || die "'$cmd' failed"
fi
meson_new_enough || die "meson >= 1.5 is not installed (package meson)"
