#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Write build/libvirt's commits back into libvirt/: the diff of each
# commit becomes libvirt/NAME.diff and its message libvirt/msg/NAME, in
# the order of libvirt/series.  Edit build/libvirt with git, then run
# `make libvirt-refresh`.

. "$(dirname "$0")/common.sh"

LV_SRC=${KPF_LIBVIRT_SRC:-$BUILD/libvirt}
mapfile -t names < <(sed -n 's/^commit //p' "$TOP/libvirt/series")
mapfile -t commits < <(git -C "$LV_SRC" rev-list --reverse base..HEAD)
[ ${#names[@]} -eq ${#commits[@]} ] ||
    die "build/libvirt has ${#commits[@]} commits, libvirt/series ${#names[@]}"

for i in "${!names[@]}"; do
    git -C "$LV_SRC" diff "${commits[$i]}~1" "${commits[$i]}" |
        grep -v '^index ' > "$TOP/libvirt/${names[$i]}.diff"
    git -C "$LV_SRC" log -1 --format=%B "${commits[$i]}" | sed -e '${/^$/d}' \
        > "$TOP/libvirt/msg/${names[$i]}"
done
# The tree now is what libvirt/ describes
"$TOP/harness/libvirt-source.sh" --stamp-only
info "libvirt/ rewritten from build/libvirt; review with git diff"
