#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make backport: the series for Debian stable's QEMU, as quilt patches in
# build/stable/patches: the series with the context of the older QEMU,
# then the commits of patches/backport/series.

. "$(dirname "$0")/common.sh"

export BUILD=$TOP/build/stable KPF_BASE=stable
PATCHES=$BUILD/patches

"$TOP/harness/materialize.sh"
rm -rf "$PATCHES"
git -C "$BUILD/qemu" format-patch -q --no-numbered --zero-commit \
    -o "$PATCHES" "$BASE_TAG"..HEAD
(cd "$PATCHES" && ls -1 ./*.patch | sed "s|^\./|kvm-pmu-filter/|") \
    > "$PATCHES/series"
info "backport for Debian $STABLE_SUITE in build/stable/patches:" \
     "$(wc -l < "$PATCHES/series") patches"
