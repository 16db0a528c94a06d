#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make libvirt-series: our libvirt series as mail in build/libvirt-series/
# (or $SERIES_OUT/), with the cover letter libvirt/cover, from and signed
# off by the git identity of whoever runs it.

. "$(dirname "$0")/common.sh"

LV_SRC=${KPF_LIBVIRT_SRC:-$BUILD/libvirt}
OUT=${SERIES_OUT:-$BUILD/libvirt-series}
# An RFC while the QEMU interface is not merged (libvirt/cover says why)
PREFIX="RFC PATCH v2"
exporter_identity

rm -rf "$OUT"
git -C "$LV_SRC" -c user.name="$name" -c user.email="$email" \
    format-patch -q --cover-letter --subject-prefix="$PREFIX" -o "$OUT" \
    base..series
sign_mails "$OUT"
python3 - "$OUT/0000-cover-letter.patch" "$TOP/libvirt/cover" <<'PY'
import sys

letter, text = sys.argv[1], open(sys.argv[2]).read()
subject, _, blurb = text.partition("\n\n")
mail = open(letter).read()
mail = mail.replace("*** SUBJECT HERE ***", subject.strip(), 1)
mail = mail.replace("*** BLURB HERE ***", blurb.rstrip(), 1)
open(letter, "w").write(mail)
PY
info "libvirt series in ${OUT#$TOP/}, from $identity:"
(cd "$OUT" && ls ./*.patch | sed 's|^\./|    |')
