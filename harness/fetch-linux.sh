#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Download Debian's linux source package, the newest version whose files
# the archive serves, into a cache outside the clone, unpack the few
# files whose code decides about PMU event filters and perf's x86 event
# tables, and print the directory that holds them.  A complete cached
# copy is used as it is; one that lacks some of them (an older cache
# without the event tables) is unpacked again, from the same version if
# the archive still serves it.

. "$(dirname "$0")/common.sh"

CACHE=${KPF_LINUX_CACHE:-/var/cache/kvm-pmu-filter/linux}
FILES="arch/x86/kvm/pmu.c arch/x86/kvm/pmu.h arch/x86/kvm/vmx/pmu_intel.c
       arch/x86/kvm/svm/pmu.c arch/x86/include/asm/kvm_host.h
       arch/x86/include/asm/perf_event.h arch/x86/include/uapi/asm/kvm.h
       arch/arm64/kvm/pmu-emul.c include/uapi/linux/kvm.h
       arch/arm64/include/uapi/asm/kvm.h arch/x86/events/intel/core.c"
# perf's event tables: a directory per CPU model and mapfile.csv
TABLES=tools/perf/pmu-events/arch/x86

# complete DIR: whether DIR holds everything this script unpacks
complete() {
    local f
    [ -f "$1/VERSION" ] && [ -f "$1/$TABLES/mapfile.csv" ] || return 1
    for f in $FILES; do
        [ -f "$1/$f" ] || return 1
    done
}

# download VERSION...: the first version whose source downloads into a
# new directory under $CACHE; prints "VERSION DIR"
download() {
    local v tmp
    for v in "$@"; do
        tmp=$(mktemp -d "$CACHE/.dl.XXXXXX")
        if (cd "$tmp" && apt-get source -qq --download-only "linux=$v" \
                > /dev/null 2>&1); then
            echo "$v $tmp"
            return 0
        fi
        rm -rf "$tmp"
    done
    return 1
}

# unpack TARBALL VERSION DIR: the files and tables into DIR, replacing
# it whole
unpack() {
    local new
    new=$(mktemp -d "$CACHE/.unpack.XXXXXX")
    # shellcheck disable=SC2086
    tar -xf "$1" -C "$new" --strip-components=1 --wildcards \
        $(for f in $FILES $TABLES; do echo "*/$f"; done) ||
        die "cannot unpack the PMU filter files from $(basename "$1")"
    echo "$2" > "$new/VERSION"
    rm -rf "$3"
    mv "$new" "$3"
}

mkdir -p "$CACHE"
exec 9> "$CACHE/.lock"
flock 9
cached=""
if [ -f "$CACHE/current" ]; then
    cached=$(cat "$CACHE/current")
    if complete "$cached"; then
        echo "$cached"
        exit 0
    fi
fi

versions=$(apt-cache showsrc linux 2>/dev/null | sed -n 's/^Version: //p' |
           sort -urV)
[ -n "$versions" ] ||
    die "no source for linux in apt's lists; run 'make deps'"
# shellcheck disable=SC2086
if [ -f "$cached/VERSION" ]; then
    got=$(download "$(cat "$cached/VERSION")" $versions) || got=""
else
    got=$(download $versions) || got=""
fi
[ -n "$got" ] || die "cannot download any version of Debian's linux source"
read -r v tmp <<< "$got"
dir=$CACHE/linux-$v
info "unpacking the PMU filter code and perf's x86 event tables of" \
    "Debian linux $v" >&2
unpack "$(ls "$tmp"/linux_*.orig.tar.*)" "$v" "$dir"
rm -rf "$tmp"
echo "$dir" > "$CACHE/current"
echo "$dir"
