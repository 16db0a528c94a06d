#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Download Debian's linux source package, the newest version whose files
# the archive serves, into a cache outside the clone, unpack the few
# files whose code decides about PMU event filters, and print the
# directory that holds them.  A cached copy is used as it is.

. "$(dirname "$0")/common.sh"

CACHE=${KPF_LINUX_CACHE:-/var/cache/kvm-pmu-filter/linux}
FILES="arch/x86/kvm/pmu.c arch/x86/kvm/pmu.h arch/x86/kvm/vmx/pmu_intel.c
       arch/x86/kvm/svm/pmu.c arch/x86/include/asm/kvm_host.h
       arch/x86/include/asm/perf_event.h arch/x86/include/uapi/asm/kvm.h
       arch/arm64/kvm/pmu-emul.c include/uapi/linux/kvm.h
       arch/arm64/include/uapi/asm/kvm.h"

mkdir -p "$CACHE"
if [ -f "$CACHE/current" ] && [ -d "$(cat "$CACHE/current")" ]; then
    cat "$CACHE/current"
    exit 0
fi

versions=$(apt-cache showsrc linux 2>/dev/null | sed -n 's/^Version: //p' |
           sort -urV)
[ -n "$versions" ] ||
    die "no source for linux in apt's lists; run 'make deps'"
for v in $versions; do
    tmp=$(mktemp -d "$CACHE/.dl.XXXXXX")
    if (cd "$tmp" && apt-get source -qq --download-only "linux=$v" \
            > /dev/null 2>&1); then
        break
    fi
    rm -rf "$tmp"
    tmp=""
done
[ -n "$tmp" ] || die "cannot download any version of Debian's linux source"
orig=$(ls "$tmp"/linux_*.orig.tar.*)
dir=$CACHE/linux-$v
info "unpacking the PMU filter code of Debian linux $v" >&2
rm -rf "$dir"
mkdir -p "$dir"
# shellcheck disable=SC2086
tar -xf "$orig" -C "$dir" --strip-components=1 --wildcards \
    $(for f in $FILES; do echo "*/$f"; done) ||
    die "cannot unpack the PMU filter files from $(basename "$orig")"
echo "$v" > "$dir/VERSION"
rm -rf "$tmp"
echo "$dir" > "$CACHE/current"
echo "$dir"
