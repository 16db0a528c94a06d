#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make check-libvirt: our libvirt series (libvirt/) on Debian's libvirt
# source.  Every commit of the series builds and passes libvirt's own
# suites that concern it; then the whole series passes them, libvirt's
# syntax checks of the files it changes, and the end-to-end test in which
# the patched daemon starts our QEMU from the native domain XML.  Ends
# with "N passed, N failed[, N skipped]".

. "$(dirname "$0")/common.sh"
set +e

LV_SRC=${KPF_LIBVIRT_SRC:-$BUILD/libvirt}
LV_OBJ=${KPF_LIBVIRT_OBJ:-$BUILD/libvirt-obj}
# libvirt's own suites that the series concerns, and its checks of a new
# public API (symbol files, driver names and ACL checks, the remote
# protocol's structs)
SUITES="genericxml2xmltest virschematest qemuxmlconftest qemucapabilitiestest
        domaincapstest qemumonitorjsontest qemuhotplugtest qemuxmlactivetest
        virshtest check-symfile check-symsorting check-drivername
        check-driverimpls check-aclrules check-remote_protocol"
# Generated files that check-driverimpls and check-aclrules read, which
# the build makes only with the LXC driver
LXC_GENERATED="src/lxc/lxc_monitor_protocol.h src/lxc/lxc_monitor_protocol.c
               src/lxc/lxc_monitor_dispatch.h"
passed=0 failed=0 skipped=0

# libvirt_suites LOG: run SUITES, the meson summary into LOG
libvirt_suites() {
    # shellcheck disable=SC2086
    ninja -C "$LV_OBJ" $LXC_GENERATED > "$1" 2>&1 &&
    meson test -C "$LV_OBJ" --no-rebuild --print-errorlogs $SUITES \
        >> "$1" 2>&1
}

each_commit() {
    local commit what log=$LV_OBJ/check-commit.log
    info "building and testing after each patch of the libvirt series"
    for commit in $(git -C "$LV_SRC" rev-list --reverse base..series); do
        git -C "$LV_SRC" checkout -q --detach "$commit"
        what=$(git -C "$LV_SRC" log -1 --format=%s)
        if "$TOP/harness/libvirt-build.sh" > "$log" 2>&1 &&
           libvirt_suites "$log"; then
            echo "    builds, tests pass: $what"
            count 1 0 0 "    patch"
        else
            grep -E "error:|FAIL" "$log" | head -10 | sed 's/^/    /'
            count 0 1 0 "    patch $what"
        fi
    done
    git -C "$LV_SRC" checkout -q series
}

suites() {
    local log=$LV_OBJ/check-suites.log ok fail skip
    info "libvirt's suites on the series: $(echo $SUITES)"
    "$TOP/harness/libvirt-build.sh" > /dev/null || { count 0 1 0 "build"; return; }
    libvirt_suites "$log"
    read -r ok fail skip < <(meson_totals "$log")
    grep -E '^ *[0-9]+/[0-9]+ .*(FAIL|TIMEOUT)' "$log"
    [ "$ok" != none ] || { tail -20 "$log"; ok=0 fail=$((fail + 1)); }
    count "$ok" "$fail" "$skip" "libvirt suites"
}

# libvirt's syntax-check, on the files the series touches
syntax_check() {
    local log=$LV_OBJ/check-syntax.log
    info "libvirt's syntax-check"
    if meson test -C "$LV_OBJ" --no-rebuild --suite syntax-check \
           > "$log" 2>&1; then
        count 1 0 0 "syntax-check"
    else
        grep -E "FAIL|^[^ ]+:[0-9]+:" "$log" | head -20 | sed 's/^/    /'
        count 0 1 0 "syntax-check"
    fi
}

end_to_end() {
    local log=$BUILD/e2e/libvirt-native.log p f s
    info "the patched daemon starts our QEMU from the native domain XML"
    mkdir -p "$BUILD/e2e"
    export QEMU=$OBJ/qemu-system-x86_64 KVM_SHIM=$BUILD/e2e/kvm-shim.so
    export KPF_GUEST=$BUILD/demo/guest.elf KPF_LIBVIRT_OBJ=$LV_OBJ
    export KERNEL_FILTER=$BUILD/kernel-filter/kernel-filter
    # where there is no /dev/kvm, domains run on the x86 stand-in
    export X86_FAKE_KVM=$BUILD/e2e/x86-fake-kvm.so
    if ! "$TOP/harness/kernel-filter.sh" ||
       ! build_kvm_shim "$KVM_SHIM" ||
       ! build_x86_fake_kvm "$X86_FAKE_KVM"; then
        count 0 1 0 "end-to-end set-up"
        return
    fi
    (cd "$TOP/e2e" && python3 run_tests.py test_qmp_proxy test_libvirt_native) \
        > "$log" 2>&1
    grep -E "^(domains run on|captured filter|switched to|libvirt's arguments|SKIP|FAIL|ERROR)" "$log"
    read -r p f s < <(e2e_totals "$log")
    count "$p" "$f" "$s" "libvirt end-to-end"
}

"$TOP/harness/libvirt-source.sh" || exit 1
"$TOP/harness/libvirt-build.sh" || exit 1
each_commit
suites
syntax_check
end_to_end
print_totals
