#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# build/libvirt: Debian's libvirt source (trixie's 11.3.0, the newest
# whose tarballs download), with Debian's patches as one commit and our
# libvirt series (libvirt/series) on top, one commit per patch.
#
# The .dsc of that version does not download, so the tarballs are
# fetched from the archive pool and checked against the SHA-256 sums of
# apt's Sources index instead.  They are cached outside the clone.

. "$(dirname "$0")/common.sh"

LIBVIRT_VERSION=11.3.0-3+deb13u3
LV_SRC=${KPF_LIBVIRT_SRC:-$BUILD/libvirt}
LV_CACHE=${KPF_LIBVIRT_CACHE:-/var/cache/kvm-pmu-filter/libvirt}
upstream=${LIBVIRT_VERSION%-*}
files=("libvirt_$upstream.orig.tar.xz" "libvirt_$LIBVIRT_VERSION.debian.tar.xz")

# The "Checksums-Sha256" and "Directory" fields of the version's stanza
sources_stanza() {
    apt-cache showsrc libvirt 2>/dev/null |
        awk -v v="$LIBVIRT_VERSION" '/^Package:/ { on = 0 }
                                     $0 == "Version: " v { on = 1 }
                                     on'
}

fetch() {
    local stanza dir mirror f sum
    stanza=$(sources_stanza)
    [ -n "$stanza" ] ||
        die "apt's Sources index has no libvirt $LIBVIRT_VERSION; run 'make deps'"
    dir=$(sed -n 's/^Directory: //p' <<< "$stanza")
    mirror=$(apt-get indextargets --format '$(REPO_URI)' \
             'Created-By: Sources' 2>/dev/null | head -1)
    mirror=${mirror:-http://deb.debian.org/debian/}
    mkdir -p "$LV_CACHE"
    for f in "${files[@]}"; do
        sum=$(sed -n '/^Checksums-Sha256:/,/^[A-Z]/p' <<< "$stanza" |
              awk -v f="$f" '$3 == f { print $1 }')
        [ -n "$sum" ] || die "no SHA-256 sum for $f in apt's Sources index"
        if [ ! -f "$LV_CACHE/$f" ]; then
            info "downloading $f" >&2
            curl -fsS -o "$LV_CACHE/$f.part" "$mirror$dir/$f" ||
                die "cannot download $mirror$dir/$f"
            mv "$LV_CACHE/$f.part" "$LV_CACHE/$f"
        fi
        echo "$sum  $LV_CACHE/$f" | sha256sum --quiet -c - ||
            die "$f does not match the SHA-256 sum of apt's Sources index"
    done
}

git_lv() {
    git -C "$LV_SRC" -c user.name="$HARNESS_NAME" \
        -c user.email="$HARNESS_EMAIL" "$@"
}

# The tree as Debian builds it, as the commit tagged "base"
extract_base() {
    local tmp
    mkdir -p "$BUILD"
    tmp=$(mktemp -d "$BUILD/.libvirt.XXXXXX")
    tar -xf "$LV_CACHE/${files[0]}" -C "$tmp" --strip-components=1
    tar -xf "$LV_CACHE/${files[1]}" -C "$tmp"
    (cd "$tmp" && QUILT_PATCHES=debian/patches quilt push -a -q --fuzz=0 \
        > "$tmp.quilt.log" 2>&1) ||
        { tail -5 "$tmp.quilt.log"; die "Debian's patches do not apply"; }
    rm -rf "$tmp/.pc" "$tmp/debian" "$tmp.quilt.log" "$LV_SRC"
    mv "$tmp" "$LV_SRC"
    git_lv init -q -b series
    # as in libvirt's own git: keycodemapdb is a submodule there
    echo /subprojects/keycodemapdb/ >> "$LV_SRC/.git/info/exclude"
    git_lv add -A .
    git_lv commit -q -m "libvirt $LIBVIRT_VERSION (Debian's patches applied)"
    git_lv tag base
}

apply_series() {
    local line name=""
    commit_pending() {
        [ -n "$name" ] || return 0
        git_lv add -A
        git_lv commit -q -F "$TOP/libvirt/msg/$name"
        name=""
    }
    while read -r line; do
        case "$line" in
        ""|"#"*) ;;
        "commit "*) commit_pending; name=${line#commit } ;;
        *.diff) git_lv apply --whitespace=nowarn "$TOP/libvirt/$line" ||
                    die "libvirt/$line does not apply" ;;
        *) die "libvirt/series: cannot read '$line'" ;;
        esac
    done < "$TOP/libvirt/series"
    commit_pending
}

# The tree is rebuilt only when the series or the version changed
stamp() {
    { echo "$LIBVIRT_VERSION"; cat "$TOP/libvirt/series" \
          "$TOP"/libvirt/*.diff "$TOP"/libvirt/msg/* 2>/dev/null; } |
        sha256sum | cut -d' ' -f1
}

if [ "${1:-}" = --stamp-only ]; then
    stamp > "$LV_SRC/.git/kpf-stamp"
    exit 0
fi
fetch
if [ "$(cat "$LV_SRC/.git/kpf-stamp" 2>/dev/null)" != "$(stamp)" ]; then
    info "libvirt $LIBVIRT_VERSION with our series in ${LV_SRC#$TOP/}"
    extract_base
    apply_series
    stamp > "$LV_SRC/.git/kpf-stamp"
fi
