#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make backport: the series for Debian stable's QEMU, as quilt patches in
# build/stable/patches: the series with the context of the older QEMU,
# then the commits of patches/backport/series.

. "$(dirname "$0")/common.sh"

export BUILD=$TOP/build/stable KPF_BASE=stable
PATCHES=$BUILD/patches

# changed_lines DIFF: the lines DIFF adds and removes, without context
changed_lines() {
    grep '^[-+]' "$1" | grep -v '^\(+++\|---\) ' | sort
}

# A diff of patches/backport/ that replaces one of the series must make
# the same changes in other context, or the backport would silently keep
# an old version of a patch; "# differs: NAME why" in its series file
# lists those that change something on purpose.
check_overrides() {
    local d name
    for d in "$TOP"/patches/backport/*.diff; do
        name=$(basename "$d")
        [ -f "$TOP/patches/$name" ] || continue
        grep -q "^# differs: $name " "$TOP/patches/backport/series" &&
            continue
        cmp -s <(changed_lines "$TOP/patches/$name") <(changed_lines "$d") ||
            die "patches/backport/$name changes other lines than" \
                "patches/$name; update it, or say why in" \
                "patches/backport/series (# differs: $name ...)"
    done
}

check_overrides
"$TOP/harness/materialize.sh"
rm -rf "$PATCHES"
git -C "$BUILD/qemu" format-patch -q --no-numbered --zero-commit \
    -o "$PATCHES" "$BASE_TAG"..HEAD
(cd "$PATCHES" && ls -1 ./*.patch | sed "s|^\./|kvm-pmu-filter/|") \
    > "$PATCHES/series"
info "backport for Debian $STABLE_SUITE in build/stable/patches:" \
     "$(wc -l < "$PATCHES/series") patches"
