# SPDX-License-Identifier: GPL-2.0-or-later
# Shared settings for the harness scripts; sourced, never run.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
SRC=${KPF_SRC:-$BUILD/qemu}
OBJ=${KPF_OBJ:-$BUILD/obj}
SRC_CACHE=${KPF_SRC_CACHE:-/var/cache/kvm-pmu-filter/src}
export CCACHE_DIR=${CCACHE_DIR:-/var/cache/kvm-pmu-filter/ccache}
BASE_TAG=debian-base

# The QEMU the series is written against: a version of Debian's qemu
# source package, taken from sid's source index
QEMU_BASE=1:10.2.2+ds-1
# The Debian release whose QEMU gets the backport in patches/backport/
STABLE_SUITE=trixie
STABLE_QEMU=10.0

die() {
    echo "error: $*" >&2
    exit 1
}

info() {
    echo "==> $*"
}

# Let ccache hit across clones in different directories
export CCACHE_BASEDIR="$TOP"
export CCACHE_NOHASHDIR=true
