#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make backport: the series for Debian stable's QEMU, as quilt patches in
# build/stable/patches: the series with the context of the older QEMU,
# then the commits of patches/backport/series.

. "$(dirname "$0")/common.sh"

export BUILD=$TOP/build/stable KPF_BASE=stable
PATCHES=$BUILD/patches

# changed_lines DIFF [PATH...]: the lines DIFF adds and removes, without
# context, leaving out the files PATH...
changed_lines() {
    local diff=$1
    shift
    awk -v skip=" $* " '
        /^diff --git / { file = substr($3, 3); next }
        /^(\+\+\+|---) / { next }
        /^[-+]/ && index(skip, " " file " ") == 0 { print }' "$diff" | sort
}

# A diff of patches/backport/ that replaces one of the series must make
# the same changes in other context, or the backport would silently keep
# an old version of a patch.  "# differs: NAME PATH... -- why" in its
# series file names the files in which it changes something on purpose.
check_overrides() {
    local d name skip
    for d in "$TOP"/patches/backport/*.diff; do
        name=$(basename "$d")
        [ -f "$TOP/patches/$name" ] || continue
        skip=$(sed -n "s/^# differs: $name \(.*\) -- .*/\1/p" \
               "$TOP/patches/backport/series")
        # shellcheck disable=SC2086
        cmp -s <(changed_lines "$TOP/patches/$name" $skip) \
               <(changed_lines "$d" $skip) ||
            die "patches/backport/$name changes other lines than" \
                "patches/$name; update it, or say why in" \
                "patches/backport/series (# differs: $name PATH... -- why)"
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
