#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Materialize build/qemu: Debian's qemu tree as the base commit, then the
# series described by patches/series as commits on top.  The commits are
# built in a private index, so files whose content did not change keep
# their timestamps and the build stays incremental.
#
# With KPF_BASE=stable, the base is Debian stable's QEMU and the series
# is its backport: a diff in patches/backport/ replaces the one of the
# same name, and patches/backport/series adds commits after the series.

. "$(dirname "$0")/common.sh"

dsc=$("$TOP/harness/fetch.sh" ${KPF_BASE:-})
version=$(sed -n 's/^Version: //p' "$dsc")

git_src() {
    git -C "$SRC" -c user.name="kvm-pmu-filter harness" \
        -c user.email="harness@invalid" "$@"
}

make_base() {
    local tmp="$BUILD/.extract"
    info "extracting Debian qemu $version"
    rm -rf "$tmp" "$SRC"
    mkdir -p "$BUILD"
    dpkg-source --no-check -x "$dsc" "$tmp" >/dev/null ||
        die "'dpkg-source -x $dsc' failed"
    rm -rf "$tmp/.pc"
    mv "$tmp" "$SRC"
    git_src init -q -b series
    git_src add -A -f .
    GIT_COMMITTER_DATE="@1 +0000" git_src commit -q --date="@1 +0000" \
        -m "Debian qemu $version (Debian patches applied)"
    git_src tag "$BASE_TAG"
}

base_version() {
    git_src log -1 --format=%s "$BASE_TAG" 2>/dev/null | awk '{print $3}'
}

[ "$(base_version)" = "$version" ] || make_base

if [ -n "$(git_src status --porcelain --untracked-files=no)" ]; then
    die "build/qemu has edits not in the repository; bring them over" \
        "(see README, 'Changing a QEMU file') or run 'make reset'"
fi

export GIT_INDEX_FILE="$BUILD/.series-index"
rm -f "$GIT_INDEX_FILE"
git_src read-tree "$BASE_TAG"
head=$(git_src rev-parse "$BASE_TAG")
name=""
# Date the commits like the repository's last commit, so that they stay
# the same from one run to the next
series_date=$(git -C "$TOP" log -1 --format=%ct 2>/dev/null || echo 1)
commit_pending() {
    [ -n "$name" ] || return 0
    local msg="$dir/msg/$name" tree
    [ -f "$msg" ] || die "${msg#$TOP/}: no such message file"
    local signer author_name author_email
    signer=$(sed -n 's/^Signed-off-by: //p' "$msg" | tail -1)
    author_name=${signer% <*}
    author_email=${signer##*<}
    author_email=${author_email%>}
    [ -n "$signer" ] || die "${msg#$TOP/} has no Signed-off-by line"
    tree=$(git_src write-tree)
    head=$(GIT_AUTHOR_NAME=$author_name GIT_AUTHOR_EMAIL=$author_email \
           GIT_AUTHOR_DATE="@$series_date +0000" \
           GIT_COMMITTER_DATE="@$series_date +0000" \
           git_src commit-tree "$tree" -p "$head" -F "$msg")
}

# The diff NAME of the series, or its replacement in the backport
diff_path() {
    if [ "${KPF_BASE:-}" = stable ] && [ -f "$TOP/patches/backport/$1" ]; then
        echo "$TOP/patches/backport/$1"
    else
        echo "$dir/$1"
    fi
}

# apply_series DIR: make the commits that DIR/series describes
apply_series() {
    local dir=$1 word arg diff
    while read -r word arg; do
        case "$word" in
        ""|"#"*) ;;
        commit)
            commit_pending
            name=$arg
            ;;
        add)
            [ -f "$TOP/$arg" ] || die "${dir#$TOP/}/series: '$arg' does not exist"
            blob=$(git_src hash-object -w --path "$arg" --stdin < "$TOP/$arg")
            mode=100644
            [ -x "$TOP/$arg" ] && mode=100755
            git_src update-index --add --cacheinfo "$mode,$blob,$arg"
            ;;
        *.diff|*.patch)
            diff=$(diff_path "$word")
            git_src apply --cached --whitespace=nowarn "$diff" ||
                die "${diff#$TOP/} does not apply"
            ;;
        *)
            die "${dir#$TOP/}/series: cannot parse '$word $arg'"
            ;;
        esac
    done < "$dir/series"
    commit_pending
    name=""
}

apply_series "$TOP/patches"
if [ "${KPF_BASE:-}" = stable ]; then
    apply_series "$TOP/patches/backport"
fi
rm -f "$GIT_INDEX_FILE"
unset GIT_INDEX_FILE

if [ "$(git_src rev-parse HEAD)" != "$head" ]; then
    git_src reset -q --hard "$head"
fi
echo "$version" > "$BUILD/qemu-version"
