#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Boot a VM with a PMU filter: the seed's allow-list of branch
# instructions (event 0xc4), or the filter object in the file given.

. "$(dirname "$0")/common.sh"

filter='{"qom-type":"kvm-pmu-filter","id":"f0","action":"allow","events":[{"format":"raw","code":"0xc4"}]}'
if [ $# -gt 0 ]; then
    filter=$(tr -d '\n' < "$1") || die "cannot read filter file '$1'"
fi
id=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' \
     "$filter") || die "the filter must be a JSON kvm-pmu-filter object with an id"

info "starting QEMU with -accel kvm,pmu-filter=$id"
printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-status"}' \
    '{"execute":"quit"}' |
"$BUILD/qemu-system-x86_64" -M pc -display none -nodefaults -S \
    -accel "kvm,pmu-filter=$id" -object "$filter" \
    -trace 'kvm_x86_pmu_filter_*' -qmp stdio | grep -v '"return": {}'
