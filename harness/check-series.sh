#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Check the series sets the way maintainers would: every patch passes
# checkpatch.pl; after every patch the tree builds for x86 and arm64
# (without a warning there) and the tests of the series pass; the mails
# of sets 0 to the last apply in order with `git am` to the pristine
# upstream tree, and with quilt to Debian's source package.  The mails
# are written, with a test identity, into build/series-check, so that
# build/series stays what `make series` wrote.

. "$(dirname "$0")/common.sh"

SERIES=$BUILD/series-check
APPLY=$BUILD/apply
# The tests of the series, where the commit being checked has them
TESTS="check-qjson test-keyval test-opts-visitor test-kvm-pmu-filter
       test-kvm-x86-pmu-encode
       test-kvm-arm-pmu-encode qtest-x86_64/kvm-pmu-filter-test
       qtest-x86_64/qmp-cmd-test func-x86_64-kvm_pmu_filter"
dsc=$("$TOP/harness/fetch.sh")
patches=()
failures=0

fail() {
    echo "    FAIL: $*"
    failures=$((failures + 1))
}

export_series() {
    SERIES_OUT=$SERIES GIT_CONFIG_COUNT=2 \
        GIT_CONFIG_KEY_0=user.name GIT_CONFIG_VALUE_0="Series Check" \
        GIT_CONFIG_KEY_1=user.email GIT_CONFIG_VALUE_1=check@example.org \
        "$TOP/harness/series.sh" > /dev/null
    mapfile -t patches < <(find "$SERIES" -name '*.patch' ! -name '0000-*' |
                           sort)
    [ ${#patches[@]} -gt 0 ] || die "no patches in ${SERIES#$TOP/}"
    info "${#patches[@]} patches in $(ls "$SERIES" | wc -l) sets:" \
         "$(ls "$SERIES" | tr '\n' ' ')"
}

# The mails come from the exporter alone: no trace of the harness's
# commit identity, also not in a cover letter's shortlog
check_identity() {
    local p
    info "authorship"
    for p in "${patches[@]}" "$SERIES"/*/0000-cover-letter.patch; do
        if grep -q -e "$HARNESS_NAME" -e "$HARNESS_EMAIL" "$p"; then
            fail "${p#$SERIES/} names $HARNESS_NAME"
        fi
    done
    [ "$failures" -ne 0 ] || echo "    every mail is from Series Check"
}

checkpatch() {
    local p out
    info "checkpatch.pl"
    for p in "${patches[@]}"; do
        out=$(cd "$SRC" && perl scripts/checkpatch.pl -q "$p")
        if [ -n "$out" ]; then
            echo "$out" | sed 's/^/    /'
            fail "${p#$SERIES/}"
        else
            echo "    clean: ${p#$SERIES/}"
        fi
    done
}

back_to_tip() {
    git -C "$SRC" checkout -q series
}

run_tests() {
    local log=$OBJ/check-series-tests.log have=() t list
    list=$(cd "$OBJ" && pyvenv/bin/meson test --list 2>/dev/null)
    for t in $TESTS; do
        grep -q " / $t\$" <<< "$list" && have+=("$t")
    done
    [ ${#have[@]} -gt 0 ] || return 0
    (cd "$OBJ" && pyvenv/bin/meson test --no-rebuild "${have[@]}") \
        > "$log" 2>&1 || { grep -E "^ *[0-9]+/.*(FAIL|ERROR)" "$log" | sed 's/^/    /'
                           return 1; }
}

build_step() {
    local what=$1 log=$OBJ/check-series.log
    if ! ninja -C "$OBJ" > "$log" 2>&1; then
        grep -E "error|FAILED" "$log" | head -10 | sed 's/^/    /'
        fail "build at $what"
        return
    fi
    run_tests || { fail "tests at $what"; return; }
    echo "    builds, tests pass: $what"
}

# The arm64 glue must build too, in the cross build, without a warning
build_step_arm64() {
    local what=$1 aobj=$BUILD/arm64/obj log=$BUILD/arm64/obj/check-series.log
    if ninja -C "$aobj" qemu-system-aarch64 > "$log" 2>&1 &&
       ! grep -q "warning:" "$log"; then
        echo "    builds for arm64: $what"
    else
        grep -E "warning:|error|FAILED" "$log" | head -10 | sed 's/^/    /'
        fail "arm64 build at $what"
    fi
}

bisect_build() {
    local commit what
    info "building after each patch (incremental, in build/obj and build/arm64/obj)"
    "$TOP/harness/check-arm64.sh" configure
    trap back_to_tip EXIT
    for commit in $(git -C "$SRC" rev-list --reverse "$BASE_TAG"..series); do
        git -C "$SRC" checkout -q --detach "$commit"
        what="$(git -C "$SRC" describe --contains --match 'series/*' HEAD |
                sed 's|^series/||; s|~.*||'): $(git -C "$SRC" log -1 --format=%s)"
        build_step "$what"
        build_step_arm64 "$what"
    done
    back_to_tip
    trap - EXIT
}

git_am_upstream() {
    local tree=$APPLY/upstream orig
    orig=$(orig_tarball "$dsc")
    info "git am of every set, in order, onto pristine upstream ($(basename "$orig"))"
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
    local tree=$APPLY/debian p name dir=debian/patches/kvm-pmu-filter
    info "quilt push into Debian's source package ($(basename "$dsc"))"
    rm -rf "$tree"
    dpkg-source --no-check -x "$dsc" "$tree" > /dev/null
    mkdir -p "$tree/$dir"
    for p in "${patches[@]}"; do
        name=$(echo "${p#$SERIES/}" | tr / -)
        cp "$p" "$tree/$dir/$name"
        echo "kvm-pmu-filter/$name" >> "$tree/debian/patches/series"
    done
    if (cd "$tree" && QUILT_PATCHES=debian/patches \
            quilt push -a --fuzz=0 > "$APPLY/quilt.log" 2>&1); then
        echo "    applied: $(grep -c '^Applying patch' "$APPLY/quilt.log") patches"
    else
        tail -10 "$APPLY/quilt.log" | sed 's/^/    /'
        fail "quilt push into $(basename "$dsc")"
    fi
}

export_series
check_identity
checkpatch
bisect_build
git_am_upstream
quilt_debian
if [ "$failures" -ne 0 ]; then
    die "$failures check(s) failed"
fi
info "the series sets are ready to send (make series writes them)"
