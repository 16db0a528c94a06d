#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Materialize build/qemu: pristine QEMU (Debian's .orig tarball, which is
# the release minus a few non-free blobs) as the base commit, then the
# series sets described by patches/series as commits on top, each set
# ending at a tag series/NAME.  The commits are built in a private
# index, so files whose content did not change keep their timestamps
# and the build stays incremental.
#
# A file of ours is kept at the top level as the series leaves it.  When
# a later commit changes it with a diff, the commit that adds it gets
# the file with those later diffs taken back out.
#
# With KPF_BASE=stable, the base is Debian stable's qemu package with
# Debian's patches applied, since that package is what the backport is
# for, and the series is its backport: a diff in patches/backport/
# replaces the one of the same name, and patches/backport/series adds
# commits after the series.

. "$(dirname "$0")/common.sh"

dsc=$("$TOP/harness/fetch.sh" ${KPF_BASE:-})
version=$(sed -n 's/^Version: //p' "$dsc")
if [ "${KPF_BASE:-}" = stable ]; then
    base_name="Debian qemu $version (Debian patches applied)"
else
    upstream=${version#*:}
    base_name="QEMU ${upstream%%+*} ($(basename "$(orig_tarball "$dsc")"))"
fi

git_src() {
    git -C "$SRC" -c user.name="$HARNESS_NAME" \
        -c user.email="$HARNESS_EMAIL" "$@"
}

extract_base() {
    local tmp=$1
    if [ "${KPF_BASE:-}" = stable ]; then
        dpkg-source --no-check -x "$dsc" "$tmp" >/dev/null ||
            die "'dpkg-source -x $dsc' failed"
        rm -rf "$tmp/.pc"
    else
        mkdir -p "$tmp"
        tar -xf "$(orig_tarball "$dsc")" -C "$tmp" --strip-components=1 ||
            die "cannot unpack $(orig_tarball "$dsc")"
    fi
}

git_commit_all() {
    git_src add -A -f .
    GIT_COMMITTER_DATE="@1 +0000" git_src commit -q --date="@1 +0000" -m "$1"
}

# Debian's +ds tarball lacks blobs that QEMU's build reads (the edk2
# images it unpacks, the dtbs); skip those steps with Debian's own
# patches for just that
REPACK_PATCHES="skip-unpack-edk2-blobs.patch skip-install-dtb.patch"
skip_stripped_blobs() {
    local debian p
    debian=$(ls "$(dirname "$dsc")"/qemu_"${version#*:}".debian.tar.*)
    for p in $REPACK_PATCHES; do
        tar -xOf "$debian" "debian/patches/$p" | git_src apply ||
            die "cannot apply debian/patches/$p of $(basename "$debian")"
    done
    git_commit_all "$(base_subject)"
}

make_base() {
    local tmp="$BUILD/.extract"
    info "extracting $base_name"
    rm -rf "$tmp" "$SRC"
    mkdir -p "$BUILD"
    extract_base "$tmp"
    mv "$tmp" "$SRC"
    git_src init -q -b series
    git_commit_all "$base_name"
    git_src tag "$UPSTREAM_TAG"
    [ "${KPF_BASE:-}" = stable ] || skip_stripped_blobs
    git_src tag "$BASE_TAG"
}

# The subject of the commit that BASE_TAG names
base_subject() {
    if [ "${KPF_BASE:-}" = stable ]; then
        echo "$base_name"
    else
        echo "Skip building the blobs that the +ds tarball lacks ($REPACK_PATCHES)"
    fi
}

[ "$(git_src log -1 --format=%s "$UPSTREAM_TAG" 2>/dev/null)" = "$base_name" ] &&
[ "$(git_src log -1 --format=%s "$BASE_TAG" 2>/dev/null)" = "$(base_subject)" ] ||
    make_base

if [ -n "$(git_src status --porcelain --untracked-files=no)" ]; then
    die "build/qemu has edits not in the repository; bring them over" \
        "(see README, 'Changing a QEMU file') or run 'make reset'"
fi

# The diff NAME of the series, or its replacement in the backport
diff_path() {
    if [ "${KPF_BASE:-}" = stable ] && [ -f "$TOP/patches/backport/$1" ]; then
        echo "$TOP/patches/backport/$1"
    else
        echo "$2/$1"
    fi
}

# Read DIR/series into STEPS: "commit NAME", "series NAME", "add PATH"
# and "diff PATH-OF-DIFF" entries, in order
STEPS=()
read_series() {
    local dir=$1 word arg
    while read -r word arg; do
        case "$word" in
        ""|"#"*) ;;
        commit|series) STEPS+=("$word ${arg%% *}") ;;
        add)
            [ -f "$TOP/$arg" ] ||
                die "${dir#$TOP/}/series: '$arg' does not exist"
            STEPS+=("add $arg")
            ;;
        *.diff|*.patch) STEPS+=("diff $(diff_path "$word" "$dir")") ;;
        *) die "${dir#$TOP/}/series: cannot parse '$word $arg'" ;;
        esac
    done < "$dir/series"
}

read_series "$TOP/patches"
# Our files at the top level are as the series leaves them, before the
# backport's own commits
SERIES_STEPS=${#STEPS[@]}
if [ "${KPF_BASE:-}" = stable ]; then
    read_series "$TOP/patches/backport"
fi

# as_added PATH INDEX: the content of our file PATH for the commit at
# STEPS[INDEX], i.e. the file without the later diffs that touch it
as_added() {
    local path=$1 i tmp later=()
    for ((i = $2 + 1; i < SERIES_STEPS; i++)); do
        case "${STEPS[$i]}" in
        "diff "*)
            grep -q "^diff --git a/$path b/$path\$" "${STEPS[$i]#diff }" &&
                later=("${STEPS[$i]#diff }" "${later[@]}")
            ;;
        esac
    done
    if [ ${#later[@]} -eq 0 ]; then
        git_src hash-object -w --path "$path" --stdin < "$TOP/$path"
        return
    fi
    tmp=$(mktemp -d)
    mkdir -p "$tmp/$(dirname "$path")"
    cp "$TOP/$path" "$tmp/$path"
    for d in "${later[@]}"; do
        (cd "$tmp" && git apply -R --include="$path" "$d") ||
            die "cannot take ${d#$TOP/} out of $path"
    done
    git_src hash-object -w --path "$path" --stdin < "$tmp/$path"
    rm -rf "$tmp"
}

export GIT_INDEX_FILE="$BUILD/.series-index"
rm -f "$GIT_INDEX_FILE"
git_src read-tree "$BASE_TAG"
head=$(git_src rev-parse "$BASE_TAG")
# Date the commits like the repository's last commit, so that they stay
# the same from one run to the next
series_date=$(git -C "$TOP" log -1 --format=%ct 2>/dev/null || echo 1)
name="" set_name=""
tags=()

# The message of commit NAME: patches/msg/NAME, or in the backport's
msg_path() {
    if [ -f "$TOP/patches/msg/$1" ]; then
        echo "$TOP/patches/msg/$1"
    else
        echo "$TOP/patches/backport/msg/$1"
    fi
}

commit_pending() {
    [ -n "$name" ] || return 0
    local msg tree
    msg=$(msg_path "$name")
    [ -f "$msg" ] || die "${msg#$TOP/}: no such message file"
    tree=$(git_src write-tree)
    head=$(GIT_AUTHOR_DATE="@$series_date +0000" \
           GIT_COMMITTER_DATE="@$series_date +0000" \
           git_src commit-tree "$tree" -p "$head" -F "$msg")
    name=""
}

end_set() {
    commit_pending
    [ -z "$set_name" ] || tags+=("$set_name $head")
}

for i in "${!STEPS[@]}"; do
    arg=${STEPS[$i]#* }
    case "${STEPS[$i]}" in
    "series "*) end_set; set_name=$arg ;;
    "commit "*) commit_pending; name=$arg ;;
    "add "*)
        mode=100644
        [ -x "$TOP/$arg" ] && mode=100755
        git_src update-index --add \
            --cacheinfo "$mode,$(as_added "$arg" "$i"),$arg"
        ;;
    "diff "*)
        git_src apply --cached --whitespace=nowarn "$arg" ||
            die "${arg#$TOP/} does not apply"
        ;;
    esac
done
end_set
rm -f "$GIT_INDEX_FILE"
unset GIT_INDEX_FILE

if [ "$(git_src rev-parse HEAD)" != "$head" ]; then
    git_src reset -q --hard "$head"
fi
git_src tag -l 'series/*' | xargs -r git -C "$SRC" tag -d > /dev/null
for t in "${tags[@]}"; do
    git_src tag -f "series/${t% *}" "${t#* }" > /dev/null
done
echo "$version" > "$BUILD/qemu-version"
