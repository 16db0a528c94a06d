#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Boot the demo guest under a PMU filter: the seed's allow-list of branch
# instructions (event 0xc4), or the filter object in the file given.
# The guest prints what it can count; QEMU traces the filter it installs.

. "$(dirname "$0")/common.sh"

filter='{"qom-type":"kvm-pmu-filter","id":"f0","action":"allow","events":[{"format":"raw","code":"0xc4"}]}'
if [ $# -gt 0 ]; then
    filter=$(tr -d '\n' < "$1") || die "cannot read filter file '$1'"
fi
id=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' \
     "$filter" 2>/dev/null) ||
    die "the filter must be a JSON kvm-pmu-filter object with an \"id\""

cmd=("$BUILD/qemu-system-x86_64" -M pc -m 64
     -accel "kvm,pmu-filter=$id" -object "$filter"
     -cpu host,-arch-capabilities,pmu=on
     -display none -nodefaults -serial stdio
     -device isa-debug-exit,iobase=0xf4,iosize=4
     -kernel "$BUILD/demo/guest.elf" -trace 'kvm_x86_pmu_filter_*')
info "running: ${cmd[*]}"
set +e
"${cmd[@]}" 2>&1 | tr -d '\r'
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 33 ]; then
    die "the guest did not run to the end (QEMU exit status $status)"
fi
if [ "$(cat /sys/module/kvm/parameters/enable_pmu 2>/dev/null)" = N ]; then
    echo "==> This host's KVM gives guests no PMU (enable_pmu=N): the filter"
    echo "    was installed (see the trace above), but there is nothing to filter."
fi
