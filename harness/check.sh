#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Run the project's tests and QEMU's relevant suites on the patched
# build; end with "N passed, N failed[, N skipped]".  With "backport",
# run ours on the backport in build/stable instead.

. "$(dirname "$0")/common.sh"
set +e

QTESTS="kvm-pmu-filter-test qom-test qmp-cmd-test device-introspect-test test-hmp"
passed=0 failed=0 skipped=0

# meson test, then add its summary to the totals
meson_suite() {
    local name=$1 log="$OBJ/check-$1.log" ok fail skip
    shift
    (cd "$OBJ" && pyvenv/bin/meson test --no-rebuild --print-errorlogs \
        "$@") > "$log" 2>&1
    read -r ok fail skip < <(meson_totals "$log")
    if [ "$ok" = none ]; then
        tail -20 "$log"
        ok=0 fail=$((fail + 1))
    fi
    grep -E '^[ 0-9/]+ .*(FAIL|TIMEOUT|SKIP)' "$log"
    count "${ok:-0}" "$fail" "$skip" "$name"
}

E2E_MODULES=""
export KPF_GUEST=$BUILD/demo/guest.elf
if [ "${1:-}" = backport ]; then
    export QEMU=$OBJ/qemu-system-x86_64 KVM_SHIM=$BUILD/e2e/kvm-shim.so
    E2E_MODULES="test_pmu_filter test_channels test_libvirt test_switch test_cpuid"
    meson_suite "our unit tests" check-qjson test-keyval test-kvm-pmu-filter \
        test-kvm-x86-pmu-encode test-kvm-arm-pmu-encode
    meson_suite "our qtest" qtest-x86_64/kvm-pmu-filter-test
    meson_suite "functional test" func-x86_64-x86_64_kvm_pmu_filter
else
    meson_suite "QEMU unit suite (+ ours)" --suite unit
    meson_suite "qtests" $(for t in $QTESTS; do echo "qtest-x86_64/$t"; done)
    meson_suite "functional test" func-x86_64-kvm_pmu_filter
fi

mkdir -p "$BUILD/e2e"
if [ "${1:-}" != backport ]; then
    # The compatibility test compares with QEMU built without the series
    "$TOP/harness/pristine.sh" || count 0 1 0 "pristine QEMU build"
fi
export KERNEL_FILTER=$BUILD/kernel-filter/kernel-filter
export PERF_ARCH_EVENTS=$BUILD/kernel-filter/perf-arch-events.json
export PMU_LEAF=$BUILD/e2e/pmu-leaf X86_FAKE_KVM=$BUILD/e2e/x86-fake-kvm.so
if "$TOP/harness/kernel-filter.sh" &&
   build_kvm_shim "$BUILD/e2e/kvm-shim.so" &&
   build_x86_fake_kvm "$BUILD/e2e/x86-fake-kvm.so" &&
   build_pmu_leaf "$BUILD/e2e/pmu-leaf"; then
    # shellcheck disable=SC2086
    (cd "$TOP/e2e" && python3 run_tests.py $E2E_MODULES) \
        > "$BUILD/e2e/e2e.log" 2>&1
    read -r p f s < <(e2e_totals "$BUILD/e2e/e2e.log")
    count "$p" "$f" "$s" "end-to-end (KVM, or its stand-in)"
    grep -E "^(kernel filter code|guest view)" "$BUILD/e2e/e2e.log"
    grep "^pmu-policy " "$BUILD/e2e/e2e.log"
else
    count 0 1 0 "end-to-end shim and kernel filter build"
fi

# pmu-policy, the filter tool, and the docs examples it checks; perf's
# tables come with the kernel's filter code (harness/fetch-linux.sh)
if [ "${1:-}" != backport ]; then
    (cd "$TOP/pmu-policy" && python3 tests/run_tests.py) \
        > "$BUILD/pmu-policy.log" 2>&1
    read -r p f s < <(e2e_totals "$BUILD/pmu-policy.log" pmu-policy)
    count "$p" "$f" "$s" "pmu-policy and docs examples"
    grep -E "^(docs examples|resolve |pmu-policy resolve |  )" "$BUILD/pmu-policy.log"
fi

print_totals
