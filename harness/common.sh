# SPDX-License-Identifier: GPL-2.0-or-later
# Shared settings for the harness scripts; sourced, never run.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
SRC=${KPF_SRC:-$BUILD/qemu}
OBJ=${KPF_OBJ:-$BUILD/obj}
SRC_CACHE=${KPF_SRC_CACHE:-/var/cache/kvm-pmu-filter/src}
export CCACHE_DIR=${CCACHE_DIR:-/var/cache/kvm-pmu-filter/ccache}
# build/qemu: the tree as released, the commit the series sits on (the
# same but for what Debian's repackaging needs), the series' sets
UPSTREAM_TAG=upstream
BASE_TAG=base
# Who makes the commits of build/qemu; `make series` signs them off with
# the identity of whoever exports them
HARNESS_NAME="kvm-pmu-filter harness"
HARNESS_EMAIL="harness@kvm-pmu-filter.invalid"

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

# orig_tarball DSC: the upstream tarball that a source package lists
orig_tarball() {
    local f
    f=$(sed -n 's/^ [0-9a-f]\{64\} [0-9]* \(.*\.orig\.tar\.[a-z0-9]*\)$/\1/p' "$1" | head -1)
    [ -n "$f" ] || die "no .orig tarball listed in $1"
    echo "$(dirname "$1")/$f"
}

# Let ccache hit across clones in different directories
export CCACHE_BASEDIR="$TOP"
export CCACHE_NOHASHDIR=true

# What every QEMU build of ours has: a system emulator with KVM only
LEAN_CONFIGURE=(--disable-tcg --enable-kvm --without-default-features
                --enable-fdt=system --disable-docs --disable-rust
                --disable-install-blobs --python=/usr/bin/python3)

# configure_qemu DIR OPTION...: configure $SRC in DIR, again only when
# the options or the source tree changed; meson itself regenerates the
# build when a meson.build file changes
configure_qemu() {
    local dir=$1 stamp=$1/.configure-options
    shift
    if [ -f "$dir/build.ninja" ] &&
       [ "$(cat "$stamp" 2>/dev/null)" = "$SRC $*" ]; then
        return
    fi
    info "configuring QEMU in $dir"
    rm -rf "$dir"
    mkdir -p "$dir" "$CCACHE_DIR"
    (cd "$dir" && "$SRC/configure" "$@" > configure.log 2>&1) ||
        { tail -20 "$dir/configure.log" >&2
          die "QEMU's configure failed (log: $dir/configure.log)"; }
    echo "$SRC $*" > "$stamp"
}

# meson_totals LOG: the "passed failed skipped" of meson test's summary
# in LOG, passed "none" where there is no summary
meson_totals() {
    awk '/^Ok:/ { ok = $2 }
         /^(Fail|Unexpected Pass|Timeout):/ { fail += $NF }
         /^(Skipped|Expected Fail):/ { skip += $NF }
         END { print (ok == "" ? "none" : ok), fail + 0, skip + 0 }' "$1"
}

# e2e_totals LOG [NAME]: the "passed failed skipped" of an
# e2e/run_tests.py log (or of another runner that ends "NAME: N passed,
# N failed, N skipped"), "0 1 0" if it has none; its failures and skips
# go to stderr
e2e_totals() {
    local totals
    grep -E '^(FAIL|ERROR|SKIP)' "$1" >&2 || true
    totals=$(sed -n "s/^${2:-e2e}: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p" "$1")
    if [ -z "$totals" ]; then
        tail -20 "$1" >&2
        totals="0 1 0"
    fi
    echo "$totals"
}

# ninja_build DIR LOG [TARGET...]: run ninja, its output into LOG; a
# build of many steps shows its progress every 5 %, with the time spent
ninja_build() {
    local dir=$1 log=$2
    shift 2
    ninja -C "$dir" "$@" 2>&1 | tee "$log" | ninja_progress
    return "${PIPESTATUS[0]}"
}

ninja_progress() {
    local line n m shown=-1 start=$SECONDS
    while IFS= read -r line; do
        [[ $line =~ ^\[([0-9]+)/([0-9]+)\] ]] || continue
        n=${BASH_REMATCH[1]} m=${BASH_REMATCH[2]}
        [ "$m" -ge 200 ] && [ $((n * 20 / m)) -gt "$shown" ] || continue
        shown=$((n * 20 / m))
        printf '    [%d/%d] %3d%%  %dm%02ds\n' "$n" "$m" $((n * 100 / m)) \
            $(((SECONDS - start) / 60)) $(((SECONDS - start) % 60))
    done
}

# build_kvm_shim DEST: build the LD_PRELOAD shim of the end-to-end tests
build_kvm_shim() {
    mkdir -p "$(dirname "$1")"
    gcc -shared -fPIC -O2 -Wall -Werror -I"$SRC/linux-headers" \
        -o "$1" "$TOP/e2e/kvm-shim.c" -ldl
}

# exporter_identity: set name, email and identity from the git identity
# of whoever exports a series, or stop saying how to set one
exporter_identity() {
    name=$(git -C "$TOP" config user.name || true)
    email=$(git -C "$TOP" config user.email || true)
    [ -n "$name" ] && [ -n "$email" ] ||
        die "exporting a series signs it off as you: set your git identity" \
            "first (git config --global user.name 'Your Name';" \
            "git config --global user.email you@example.org)"
    identity="$name <$email>"
}

# sign_mails DIR: make the patches in DIR from and signed off by $identity
sign_mails() {
    python3 - "$identity" "$name" "$HARNESS_NAME" "$1"/*.patch <<'PY'
import re
import subprocess
import sys

identity, name, harness_name = sys.argv[1:4]
for path in sys.argv[4:]:
    text = open(path).read()
    head, sep, rest = text.partition("\n\n")
    # whatever address the harness committed with
    head = re.sub(r"^From: %s <[^>]*>$" % re.escape(harness_name),
                  lambda m: "From: " + identity, head, flags=re.M)
    if path.endswith("0000-cover-letter.patch"):
        # the shortlog names the commits' author
        rest = rest.replace("\n%s (" % harness_name, "\n%s (" % name)
    open(path, "w").write(head + sep + rest)
    if not path.endswith("0000-cover-letter.patch"):
        subprocess.run(["git", "interpret-trailers", "--in-place",
                        "--if-exists", "addIfDifferent", "--trailer",
                        "Signed-off-by: " + identity, path], check=True)
PY
}

# count PASSED FAILED SKIPPED WHAT: add a suite's results to the totals
# in passed, failed and skipped, and print them
count() {
    passed=$((passed + $1)) failed=$((failed + $2)) skipped=$((skipped + $3))
    printf '%-28s %d passed, %d failed, %d skipped\n' "$4:" "$1" "$2" "$3"
}

# print_totals: the line that ends a check, "N passed, N failed[, N
# skipped]"; fails when a test failed
print_totals() {
    local line="$passed passed, $failed failed"
    [ "$skipped" -eq 0 ] || line="$line, $skipped skipped"
    echo "$line"
    [ "$failed" -eq 0 ]
}

# build_pmu_leaf OUT: e2e/pmu-leaf.c linked with the CPUID leaf 0xA
# computation of the build in $OBJ, as compiled for its unit test
build_pmu_leaf() {
    local encode
    encode=$(ls "$OBJ"/tests/unit/test-kvm-x86-pmu-encode.p/*pmu-filter-encode.c.o 2>/dev/null)
    [ -f "$encode" ] || {
        echo "no unit test build of pmu-filter-encode.c in ${OBJ#"$TOP"/}" >&2
        return 1
    }
    mkdir -p "$(dirname "$1")"
    # shellcheck disable=SC2046
    gcc -O2 -Wall -Werror -std=gnu11 -D_GNU_SOURCE -I"$OBJ" -I"$OBJ/qapi" \
        -iquote "$SRC" -iquote "$SRC/include" \
        -iquote "$SRC/host/include/x86_64" -iquote "$SRC/host/include/generic" \
        -isystem "$SRC/linux-headers" -isystem "$OBJ/linux-headers" \
        $(pkg-config --cflags glib-2.0) -o "$1" "$TOP/e2e/pmu-leaf.c" \
        "$encode" "$OBJ/libqemuutil.a" $(pkg-config --libs glib-2.0) -lm
}

# build_x86_fake_kvm OUT: e2e/x86-fake-kvm.c, a stand-in for x86 KVM
build_x86_fake_kvm() {
    mkdir -p "$(dirname "$1")"
    gcc -shared -fPIC -O2 -Wall -Werror -I"$SRC/linux-headers" \
        -I"$OBJ/linux-headers" -o "$1" "$TOP/e2e/x86-fake-kvm.c" -ldl
}
