#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Check the series the way a maintainer would: every patch passes
# checkpatch.pl, the tree builds and our unit tests pass after every
# patch, and the mails apply with `git am` to the pristine upstream tree
# and with quilt to Debian's source package.

. "$(dirname "$0")/common.sh"

SERIES=$BUILD/series
APPLY=$BUILD/apply
UNIT_TESTS="check-qjson test-kvm-pmu-filter test-kvm-x86-pmu-encode
            test-kvm-arm-pmu-encode"
dsc=$("$TOP/harness/fetch.sh")
patches=()
failures=0

fail() {
    echo "    FAIL: $*"
    failures=$((failures + 1))
}

checkpatch() {
    local p out
    info "checkpatch.pl"
    for p in "${patches[@]}"; do
        out=$(cd "$SRC" && perl scripts/checkpatch.pl -q "$p")
        if [ -n "$out" ]; then
            echo "$out" | sed 's/^/    /'
            fail "$(basename "$p")"
        else
            echo "    clean: $(basename "$p")"
        fi
    done
}

back_to_tip() {
    git -C "$SRC" checkout -q series
}

build_step() {
    local commit=$1 log="$OBJ/check-series.log" t
    if ! ninja -C "$OBJ" > "$log" 2>&1; then
        grep -E "error|FAILED" "$log" | head -10 | sed 's/^/    /'
        fail "build at $(git -C "$SRC" log -1 --format=%s)"
        return
    fi
    for t in $UNIT_TESTS; do
        [ -x "$OBJ/tests/unit/$t" ] || continue
        "$OBJ/tests/unit/$t" > "$log" 2>&1 || fail "$t at $commit"
    done
    echo "    builds, unit tests pass: $(git -C "$SRC" log -1 --format=%s)"
}

# The arm64 glue must build too, in the cross build, without a warning
build_step_arm64() {
    local aobj=$BUILD/arm64/obj log=$BUILD/arm64/obj/check-series.log
    if ninja -C "$aobj" qemu-system-aarch64 > "$log" 2>&1 &&
       ! grep -q "warning:" "$log"; then
        echo "    builds for arm64: $(git -C "$SRC" log -1 --format=%s)"
    else
        grep -E "warning:|error|FAILED" "$log" | head -10 | sed 's/^/    /'
        fail "arm64 build at $(git -C "$SRC" log -1 --format=%s)"
    fi
}

bisect_build() {
    local commit
    info "building after each patch (incremental, in build/obj and build/arm64/obj)"
    "$TOP/harness/check-arm64.sh" configure
    trap back_to_tip EXIT
    for commit in $(git -C "$SRC" rev-list --reverse "$BASE_TAG"..series); do
        git -C "$SRC" checkout -q --detach "$commit"
        build_step "$commit"
        build_step_arm64
    done
    back_to_tip
    trap - EXIT
}

git_am_upstream() {
    local tree=$APPLY/upstream orig
    orig=$(dirname "$dsc")/$(sed -n 's/^ [0-9a-f]\{64\} [0-9]* \(qemu_.*\.orig\.tar\.[a-z0-9]*\)$/\1/p' "$dsc" | head -1)
    [ -f "$orig" ] || die "no .orig tarball listed in $dsc"
    info "git am onto pristine upstream ($(basename "$orig"))"
    rm -rf "$tree"
    mkdir -p "$tree"
    tar -xf "$orig" -C "$tree" --strip-components=1
    git -C "$tree" init -q
    git -C "$tree" add -A -f .
    git -C "$tree" -c user.name=check -c user.email=check@invalid \
        commit -q -m upstream
    if git -C "$tree" -c user.name=check -c user.email=check@invalid \
           am -q "${patches[@]}" > "$APPLY/git-am.log" 2>&1; then
        echo "    applied: $(git -C "$tree" rev-list --count HEAD~${#patches[@]}..HEAD) patches"
    else
        sed 's/^/    /' "$APPLY/git-am.log" | head -10
        fail "git am onto $(basename "$orig")"
    fi
}

quilt_debian() {
    local tree=$APPLY/debian p dir=debian/patches/kvm-pmu-filter
    info "quilt push into Debian's source package ($(basename "$dsc"))"
    rm -rf "$tree"
    dpkg-source --no-check -x "$dsc" "$tree" > /dev/null
    mkdir -p "$tree/$dir"
    for p in "${patches[@]}"; do
        cp "$p" "$tree/$dir/"
        echo "kvm-pmu-filter/$(basename "$p")" >> "$tree/debian/patches/series"
    done
    if (cd "$tree" && QUILT_PATCHES=debian/patches \
            quilt push -a --fuzz=0 > "$APPLY/quilt.log" 2>&1); then
        echo "    applied: $(grep -c '^Applying patch' "$APPLY/quilt.log") patches"
    else
        tail -10 "$APPLY/quilt.log" | sed 's/^/    /'
        fail "quilt push into $(basename "$dsc")"
    fi
}

"$TOP/harness/series.sh" > /dev/null
for p in "$SERIES"/[0-9][0-9][0-9][0-9]-*.patch; do
    [[ $p == */0000-cover-letter.patch ]] || patches+=("$p")
done
[ ${#patches[@]} -gt 0 ] || die "no patches in build/series"
checkpatch
bisect_build
git_am_upstream
quilt_debian
if [ "$failures" -ne 0 ]; then
    die "$failures check(s) failed"
fi
info "the series is ready to send (build/series/)"
