#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Write the series as mail, with a cover letter, into build/series/.
# AUTHOR="Name <address>" replaces the sign-off placeholder; PREFIX sets
# the subject prefix (default "PATCH v2").  The cover letter Cc's whom
# scripts/get_maintainer.pl names.

. "$(dirname "$0")/common.sh"

PLACEHOLDER="Your Name <your.email@example.com>"
OUT=$BUILD/series

rm -rf "$OUT"
git -C "$SRC" -c user.name="${PLACEHOLDER% <*}" \
    -c user.email=your.email@example.com format-patch -q --cover-letter \
    --subject-prefix="${PREFIX:-PATCH v2}" -o "$OUT" "$BASE_TAG"..HEAD
# Everyone scripts/get_maintainer.pl names for any patch
(cd "$SRC" && perl scripts/get_maintainer.pl --no-git --no-git-fallback \
    --no-rolestats $(ls "$OUT"/[0-9][0-9][0-9][0-9]-*.patch | grep -v /0000-cover-letter)) > "$OUT/.cc" 2>/dev/null ||
    die "scripts/get_maintainer.pl failed"
python3 - "$OUT"/0000-cover-letter.patch "$TOP/patches/cover-letter" \
    "$OUT/.cc" <<'PY'
import sys

cover, text = sys.argv[1], open(sys.argv[2]).read()
subject, _, blurb = text.partition("\n\n")
blurb = blurb.rstrip()
for cc in open(sys.argv[3]).read().splitlines():
    if cc and cc not in blurb:
        blurb += "\nCc: " + cc
mail = open(cover).read()
mail = mail.replace("*** SUBJECT HERE ***", subject.strip(), 1)
mail = mail.replace("*** BLURB HERE ***", blurb, 1)
open(cover, "w").write(mail)
PY
rm -f "$OUT/.cc"
if [ -n "${AUTHOR:-}" ]; then
    sed -i "s/$PLACEHOLDER/$AUTHOR/" "$OUT"/*.patch
fi
info "series in ${OUT#$TOP/}:"
(cd "$OUT" && ls -1 | sed 's/^/    /')
grep -q "$PLACEHOLDER" "$OUT"/*.patch &&
    echo "    (sign-offs are placeholders: make series AUTHOR=\"Name <address>\")"
exit 0
