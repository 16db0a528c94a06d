#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Write build/qemu's commits back into patches/: the diff of each commit,
# minus the files it adds from the repository, becomes patches/NAME.diff,
# the files the series adds are copied back as the last commit has them,
# and the messages go to patches/msg/.  Edit build/qemu with git (commit
# --fixup, rebase --autosquash), then run `make refresh`.

. "$(dirname "$0")/common.sh"

mapfile -t names < <(sed -n 's/^commit //p' "$TOP/patches/series")
mapfile -t commits < <(git -C "$SRC" rev-list --reverse "$BASE_TAG"..HEAD)
[ ${#names[@]} -eq ${#commits[@]} ] ||
    die "build/qemu has ${#commits[@]} commits, patches/series ${#names[@]}"

# added_files NAME: the files that patches/series adds in commit NAME
added_files() {
    awk -v name="$1" '$1 == "commit" { on = ($2 == name) }
                      on && $1 == "add" { print $2 }' "$TOP/patches/series"
}

for i in "${!names[@]}"; do
    name=${names[$i]} commit=${commits[$i]}
    mapfile -t added < <(added_files "$name")
    for f in "${added[@]}"; do
        git -C "$SRC" show "HEAD:$f" > "$TOP/$f"
    done
    diff="$TOP/patches/$name.diff"
    git -C "$SRC" diff "$commit~1" "$commit" -- . \
        "${added[@]/#/:!}" | grep -v '^index ' > "$diff.new" || true
    if [ -s "$diff.new" ]; then
        mv "$diff.new" "$diff"
    else
        rm -f "$diff.new"
    fi
    git -C "$SRC" log -1 --format=%B "$commit" | sed -e '${/^$/d}' \
        > "$TOP/patches/msg/$name"
done
info "patches/ rewritten from build/qemu; review with git diff"
