#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make check-backport: the patches of `make backport` apply with quilt to
# Debian stable's qemu source package (in build/stable/deb), which then
# builds, and our tests pass on that build.  With "arm64", the same tree
# goes through check-arm64.sh instead (in build/stable/arm64).

. "$(dirname "$0")/common.sh"

export BUILD=$TOP/build/stable KPF_BASE=stable
PATCHES=$BUILD/patches
DEB=$BUILD/deb
DIR=debian/patches/kvm-pmu-filter

# quilt_push DSC: unpack DSC into $DEB and push the patches onto it
quilt_push() {
    info "quilt push into $(basename "$1")"
    rm -rf "$DEB"
    dpkg-source --no-check -x "$1" "$DEB" > /dev/null ||
        die "'dpkg-source -x $1' failed"
    mkdir -p "$DEB/$DIR"
    cp "$PATCHES"/*.patch "$DEB/$DIR/"
    cat "$PATCHES/series" >> "$DEB/debian/patches/series"
    (cd "$DEB" && QUILT_PATCHES=debian/patches \
        quilt push -a --fuzz=0 > "$BUILD/quilt.log" 2>&1) ||
        { tail -5 "$BUILD/quilt.log" >&2
          die "$(sed -n 's/^Patch \(.*\) does not apply.*/\1/p' \
                 "$BUILD/quilt.log" | tail -1) does not apply"; }
    echo "    applied: $(grep -c "^Applying patch $DIR" "$BUILD/quilt.log") patches"
}

# Unpack again only when the package or the patches changed, so that
# an unchanged tree keeps its timestamps and builds incrementally
dsc=$("$TOP/harness/fetch.sh" stable)
stamp="$(basename "$dsc") $(git -C "$BUILD/qemu" rev-parse HEAD^{tree})"
if [ "$(cat "$BUILD/deb.stamp" 2>/dev/null)" != "$stamp" ]; then
    quilt_push "$dsc"
    echo "$stamp" > "$BUILD/deb.stamp"
fi

export KPF_SRC=$DEB
if [ "${1:-}" = arm64 ]; then
    exec "$TOP/harness/check-arm64.sh"
fi
"$TOP/harness/configure.sh"
"$TOP/harness/build.sh"
"$TOP/harness/check.sh" backport
