#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make check-arm64: no arm64 KVM host is at hand, so cross-build
# qemu-system-aarch64 with KVM for an arm64 host from build/qemu, with
# -Werror, and run what runs without one under qemu-user: our unit
# tests, the aarch64 binary's QOM and QMP with the qtest accelerator,
# and the arm64 glue end to end on e2e/arm64-fake-kvm.c, a stand-in for
# arm64 KVM.  Ends with "N passed, N failed".  With "configure", only
# configure the cross build.

. "$(dirname "$0")/common.sh"

ARM=$BUILD/arm64
AOBJ=$ARM/obj
SYSROOT=$ARM/sysroot
# check-qjson forks subprocesses by re-executing itself, which needs
# binfmt_misc; these two do not
UNIT_TESTS="test-kvm-pmu-filter test-kvm-arm-pmu-encode"
passed=0 failed=0 skipped=0

# libfdt-dev cannot be installed for amd64 and arm64 at once
fdt_sysroot() {
    [ -f "$SYSROOT/usr/lib/aarch64-linux-gnu/libfdt.a" ] && return
    rm -rf "$ARM/debs" "$SYSROOT"
    mkdir -p "$ARM/debs" "$SYSROOT"
    (cd "$ARM/debs" &&
     apt-get download -qq -o APT::Sandbox::User=root libfdt-dev:arm64) ||
        die "cannot download libfdt-dev:arm64"
    dpkg-deb -x "$ARM"/debs/libfdt-dev_*_arm64.deb "$SYSROOT"
}

OPTS=(
    --cross-prefix=aarch64-linux-gnu-
    --target-list=aarch64-softmmu
    "${LEAN_CONFIGURE[@]}"
    --enable-werror
    "--cc=ccache aarch64-linux-gnu-gcc"
    "--extra-cflags=-I$SYSROOT/usr/include"
    "--extra-ldflags=-L$SYSROOT/usr/lib/aarch64-linux-gnu"
)

result() {
    if [ "$1" = ok ]; then
        passed=$((passed + 1))
        echo "    ok: $2"
    else
        failed=$((failed + 1))
        echo "    FAIL: $2"
    fi
}

build() {
    local log=$AOBJ/build.log targets="qemu-system-aarch64"

    info "building qemu-system-aarch64 for arm64 (-Werror)"
    for t in $UNIT_TESTS; do
        targets="$targets tests/unit/$t"
    done
    # shellcheck disable=SC2086
    if ! ninja_build "$AOBJ" "$log" $targets; then
        grep -E "error|FAILED" "$log" | head -20 >&2
        result fail "arm64 build (log: $log)"
        return 1
    fi
    if grep -q "warning:" "$log"; then
        grep "warning:" "$log" | head -10 >&2
        result fail "arm64 build has warnings"
        return 1
    fi
    file -L "$AOBJ/qemu-system-aarch64" | grep -q "ARM aarch64" &&
        result ok "qemu-system-aarch64 with KVM cross-built, no warning" ||
        result fail "qemu-system-aarch64 is not an arm64 binary"
}

unit_tests() {
    local t log

    info "our unit tests, arm64 binaries under qemu-aarch64"
    for t in $UNIT_TESTS; do
        log=$AOBJ/$t.log
        if qemu-aarch64-static "$AOBJ/tests/unit/$t" --tap > "$log" 2>&1 &&
           grep -q '^ok ' "$log" && ! grep -q '^not ok' "$log"; then
            result ok "$t ($(grep -c '^ok ' "$log") cases)"
        else
            result fail "$t (log: $log)"
        fi
    done
}

# qmp COMMANDS...: run the aarch64 binary with the qtest accelerator,
# feed it the QMP commands, print its replies
qmp() {
    printf '%s\n' '{"execute": "qmp_capabilities"}' "$@" \
        '{"execute": "quit"}' |
        timeout 60 qemu-aarch64-static "$AOBJ/qemu-system-aarch64" \
            -M none -accel qtest -display none -qmp stdio 2>&1
}

qom_qmp() {
    local out

    info "the aarch64 binary under qemu-aarch64, with -accel qtest"
    out=$(qmp '{"execute": "qom-list-properties",
                "arguments": {"typename": "kvm-accel"}}')
    grep -q '"name": "pmu-filter"' <<< "$out" &&
        result ok "kvm-accel has pmu-filter on aarch64" ||
        result fail "kvm-accel lacks pmu-filter on aarch64: $out"
    out=$(qmp '{"execute": "set-kvm-pmu-filter",
                "arguments": {"id": "f0"}}')
    grep -q '"desc": "the accelerator in use is not KVM"' <<< "$out" &&
        result ok "set-kvm-pmu-filter refused without KVM" ||
        result fail "set-kvm-pmu-filter without KVM: $out"
    out=$(qmp '{"execute": "object-add", "arguments":
                {"qom-type": "kvm-pmu-filter", "id": "f0",
                 "action": "deny",
                 "events": [{"format": "raw", "code": "0x11"}]}}' \
              '{"execute": "qom-get", "arguments":
                {"path": "/objects/f0", "property": "events"}}')
    grep -q '"return": \[{"code": "0x11", "format": "raw"}\]' <<< "$out" &&
        result ok "kvm-pmu-filter object on aarch64" ||
        result fail "kvm-pmu-filter object on aarch64: $out"
}

# The tests of e2e/arm64_fake_kvm_tests.py, on e2e/arm64-fake-kvm.c
fake_kvm_tests() {
    local log=$ARM/e2e/e2e.log p f sk

    info "the arm64 glue end to end: qemu-user on a stand-in for arm64 KVM"
    mkdir -p "$ARM/e2e"
    if ! aarch64-linux-gnu-gcc -shared -fPIC -O2 -Wall -Werror \
            -I"$SRC/linux-headers" -o "$ARM/e2e/fake-kvm.so" \
            "$TOP/e2e/arm64-fake-kvm.c" -ldl; then
        result fail "build of e2e/arm64-fake-kvm.c"
        return
    fi
    (cd "$TOP/e2e" && QEMU_ARM=$AOBJ/qemu-system-aarch64 \
        FAKE_KVM=$ARM/e2e/fake-kvm.so \
        python3 run_tests.py arm64_fake_kvm_tests) > "$log" 2>&1 || true
    read -r p f sk < <(e2e_totals "$log")
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + sk))
    echo "    $p passed, $f failed, $sk skipped (log: $log)"
}

fdt_sysroot
configure_qemu "$AOBJ" "${OPTS[@]}"
# check-series.sh only needs the configured cross build
[ "${1:-}" != configure ] || exit 0
build && unit_tests && qom_qmp && fake_kvm_tests
line="$passed passed, $failed failed"
[ "$skipped" -eq 0 ] || line="$line, $skipped skipped"
echo "arm64 cross build: $line"
echo "$line"
[ "$failed" -eq 0 ]
