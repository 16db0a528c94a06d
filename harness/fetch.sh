#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Download a qemu source package into a cache outside the clone and print
# the path of its .dsc.  With no argument: QEMU_BASE, the version the
# series is against.  With "stable": the current qemu of STABLE_SUITE,
# which must be QEMU STABLE_QEMU.x.  A cached copy is used as it is.

. "$(dirname "$0")/common.sh"

stable_version() {
    local v
    v=$(apt-cache madison qemu 2>/dev/null | awk -F'|' -v suite="$STABLE_SUITE" \
        '$3 ~ suite "/main Sources" { gsub(/ /, "", $2); print $2; exit }')
    [ -n "$v" ] ||
        die "no $STABLE_SUITE source for qemu in apt's lists; run 'make deps'"
    case "${v#*:}" in
        "$STABLE_QEMU".*) ;;
        *) die "$STABLE_SUITE's qemu is $v, the backport is for QEMU $STABLE_QEMU.x" ;;
    esac
    echo "$v"
}

case "${1:-}" in
    "") version=$QEMU_BASE ;;
    stable) version=$(stable_version) ;;
    *) die "fetch.sh: unknown argument '$1'" ;;
esac

dsc="$SRC_CACHE/qemu_${version#*:}.dsc"
if [ ! -f "$dsc" ]; then
    cmd="apt-get source --download-only qemu=$version"
    mkdir -p "$SRC_CACHE"
    info "downloading Debian qemu $version into $SRC_CACHE" >&2
    tmp=$(mktemp -d "$SRC_CACHE/.dl.XXXXXX")
    chmod 755 "$tmp"
    (cd "$tmp" && $cmd -qq > "$tmp.log" 2>&1) ||
        { rm -rf "$tmp" "$tmp.log"
          die "cannot download source package qemu $version ('$cmd' failed; it needs a deb-src entry that lists it, see 'make deps')"; }
    rm -f "$tmp.log"
    mv "$tmp"/* "$SRC_CACHE"/ && rmdir "$tmp"
fi
echo "$dsc"
