#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Write each series set of patches/series as mail into build/series/NAME/
# (or $SERIES_OUT/NAME/), with its cover letter from patches/cover/NAME
# when the set has one.  The patches are from and signed off by the git
# identity of whoever runs this (user.name and user.email); the cover
# letters Cc whom scripts/get_maintainer.pl names for their patches.

. "$(dirname "$0")/common.sh"

OUT=${SERIES_OUT:-$BUILD/series}
exporter_identity

# cover DIR NAME: fill in the cover letter of set NAME
cover() {
    local dir=$1 letter=$1/0000-cover-letter.patch
    (cd "$SRC" && perl scripts/get_maintainer.pl --no-git --no-git-fallback \
        --no-rolestats $(ls "$dir"/*.patch | grep -v /0000-cover-letter)) \
        > "$dir/.cc" 2>/dev/null || die "scripts/get_maintainer.pl failed"
    python3 - "$letter" "$TOP/patches/cover/$2" "$dir/.cc" "$OUT/.msgids" <<'PY'
import re
import sys

letter, text = sys.argv[1], open(sys.argv[2]).read()
# "Based-on: series/NAME" names the first mail of set NAME
msgids = dict(line.split() for line in open(sys.argv[4]))
text = re.sub(r"^Based-on: series/(\S+)$",
              lambda m: "Based-on: " + msgids[m.group(1)], text, flags=re.M)
subject, _, blurb = text.partition("\n\n")
blurb = blurb.rstrip()
for cc in open(sys.argv[3]).read().splitlines():
    if cc and cc not in blurb:
        blurb += "\nCc: " + cc
mail = open(letter).read()
mail = mail.replace("*** SUBJECT HERE ***", subject.strip(), 1)
mail = mail.replace("*** BLURB HERE ***", blurb, 1)
open(letter, "w").write(mail)
PY
    rm -f "$dir/.cc"
}

rm -rf "$OUT"
mkdir -p "$OUT"
from=$BASE_TAG
while read -r word set prefix; do
    [ "$word" = series ] || continue
    dir=$OUT/$set
    letter=()
    [ -f "$TOP/patches/cover/$set" ] && letter=(--cover-letter)
    git -C "$SRC" -c user.name="$name" -c user.email="$email" \
        format-patch -q --thread "${letter[@]}" --subject-prefix="$prefix" \
        -o "$dir" "$from..series/$set"
    sign_mails "$dir"
    echo "$set $(sed -n 's/^Message-I[dD]: //p' "$(ls "$dir"/*.patch | head -1)" |
                 head -1)" >> "$OUT/.msgids"
    [ ${#letter[@]} -eq 0 ] || cover "$dir" "$set"
    from=series/$set
done < "$TOP/patches/series"

info "series in ${OUT#$TOP/}, from $identity:"
(cd "$OUT" && find . -name '*.patch' | sort | sed 's|^\./|    |')
