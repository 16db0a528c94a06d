#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make check-asan: the whole of make check on a build with
# AddressSanitizer and UndefinedBehaviorSanitizer (build/asan), with
# LeakSanitizer on.  Any sanitizer report fails the run.

. "$(dirname "$0")/common.sh"

export KPF_OBJ=$BUILD/asan
export EXTRA_CONFIGURE="--enable-asan --enable-ubsan"
"$TOP/harness/configure.sh"
"$TOP/harness/build.sh" | grep -v emulator

# The e2e shim is preloaded ahead of the ASan runtime, which is fine.
# GLib has no frame pointers: only the slow unwinder sees past g_malloc
# to the caller, which the suppressions and the reports need.
export ASAN_OPTIONS="detect_leaks=1:verify_asan_link_order=0:abort_on_error=1"
ASAN_OPTIONS+=":fast_unwind_on_malloc=0"
export KPF_SANITIZED=1
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
UBSAN_OPTIONS+=":suppressions=$TOP/harness/ubsan.supp"
export LSAN_OPTIONS="suppressions=$TOP/harness/lsan.supp:print_suppressions=0"
export QEMU=$KPF_OBJ/qemu-system-x86_64
status=0
"$TOP/harness/check.sh" | tee "$KPF_OBJ/check-asan.out" || status=$?

reports=$(grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" \
          "$KPF_OBJ"/check-*.log "$KPF_OBJ"/meson-logs/testlog.txt \
          "$BUILD/e2e/e2e.log" 2>/dev/null || true)
if [ -n "$reports" ]; then
    echo "sanitizer reports in: $reports"
    exit 1
fi
echo "no sanitizer reports"
exit "$status"
