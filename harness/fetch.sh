#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Download trixie's current qemu source package into a cache outside the
# clone; print the path of its .dsc.  A cached copy of the current version
# is used as it is.

. "$(dirname "$0")/common.sh"

version=$(apt-cache madison qemu 2>/dev/null |
          awk -F'|' '/trixie\/main Sources/ { gsub(/ /, "", $2); print $2; exit }')
[ -n "$version" ] ||
    die "no trixie source for qemu in apt's lists ('apt-cache madison qemu'); run harness/deps.sh"
case "${version#*:}" in
    10.0.*) ;;
    *) die "trixie's qemu is $version, this series targets QEMU 10.0.x" ;;
esac

dsc="$SRC_CACHE/qemu_${version#*:}.dsc"
if [ ! -f "$dsc" ]; then
    mkdir -p "$SRC_CACHE"
    info "downloading Debian qemu $version into $SRC_CACHE" >&2
    tmp=$(mktemp -d "$SRC_CACHE/.dl.XXXXXX")
    chmod 755 "$tmp"
    (cd "$tmp" && apt-get source -qq --download-only "qemu=$version" >&2) ||
        { rm -rf "$tmp"; die "'apt-get source --download-only qemu=$version' failed"; }
    mv "$tmp"/* "$SRC_CACHE"/ && rmdir "$tmp"
fi
echo "$dsc"
