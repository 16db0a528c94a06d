#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Write the series as mail, with a cover letter, into build/series/.
# AUTHOR="Name <address>" replaces the sign-off placeholder; PREFIX sets
# the subject prefix (default "PATCH").

. "$(dirname "$0")/common.sh"

PLACEHOLDER="Your Name <your.email@example.com>"
OUT=$BUILD/series

rm -rf "$OUT"
git -C "$SRC" -c user.name="${PLACEHOLDER% <*}" \
    -c user.email=your.email@example.com format-patch -q --cover-letter \
    --subject-prefix="${PREFIX:-PATCH}" -o "$OUT" "$BASE_TAG"..HEAD
python3 - "$OUT"/0000-cover-letter.patch "$TOP/patches/cover-letter" <<'PY'
import sys

cover, text = sys.argv[1], open(sys.argv[2]).read()
subject, _, blurb = text.partition("\n\n")
mail = open(cover).read()
mail = mail.replace("*** SUBJECT HERE ***", subject.strip(), 1)
mail = mail.replace("*** BLURB HERE ***", blurb.rstrip(), 1)
open(cover, "w").write(mail)
PY
if [ -n "${AUTHOR:-}" ]; then
    sed -i "s/$PLACEHOLDER/$AUTHOR/" "$OUT"/*.patch
fi
info "series in ${OUT#$TOP/}:"
(cd "$OUT" && ls -1 | sed 's/^/    /')
grep -q "$PLACEHOLDER" "$OUT"/*.patch &&
    echo "    (sign-offs are placeholders: make series AUTHOR=\"Name <address>\")"
exit 0
