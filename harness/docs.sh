#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build QEMU's manual and man pages from the patched tree in build/docs,
# with Sphinx warnings as errors (QEMU's --enable-werror passes -W).

. "$(dirname "$0")/common.sh"

export KPF_OBJ=$BUILD/docs
export EXTRA_CONFIGURE="--enable-docs --enable-werror"
"$TOP/harness/configure.sh"

info "building the manual with Sphinx (warnings are errors)"
start=$(date +%s)
ninja_build "$KPF_OBJ" "$KPF_OBJ/docs.log" html man ||
    { grep -vE '^\[[0-9]+/[0-9]+\]' "$KPF_OBJ/docs.log" | tail -20 >&2;
      die "the docs build failed (log: build/docs/docs.log)"; }
echo "    no warnings ($(( $(date +%s) - start ))s)"
echo "    page: build/docs/docs/manual/system/kvm-pmu-filter.html"
echo "    QMP reference: build/docs/docs/manual/interop/qemu-qmp-ref.html"
