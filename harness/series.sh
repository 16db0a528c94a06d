#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Write each series set of patches/series as mail into build/series/NAME/
# (or $SERIES_OUT/NAME/), with its cover letter from patches/cover/NAME
# when the set has one.  The patches are from and signed off by the git
# identity of whoever runs this (user.name and user.email); the cover
# letters Cc whom scripts/get_maintainer.pl names for their patches.

. "$(dirname "$0")/common.sh"

OUT=${SERIES_OUT:-$BUILD/series}
name=$(git -C "$TOP" config user.name || true)
email=$(git -C "$TOP" config user.email || true)
[ -n "$name" ] && [ -n "$email" ] ||
    die "make series signs off as you: set your git identity first" \
        "(git config --global user.name 'Your Name';" \
        "git config --global user.email you@example.org)"
identity="$name <$email>"

# sign DIR: make the patches in DIR from and signed off by $identity
sign() {
    python3 - "$identity" "$name" "$HARNESS_NAME" "$HARNESS_EMAIL" \
        "$1"/*.patch <<'PY'
import subprocess
import sys

identity, name, harness_name, harness_email = sys.argv[1:5]
harness = "%s <%s>" % (harness_name, harness_email)
for path in sys.argv[5:]:
    text = open(path).read()
    head, sep, rest = text.partition("\n\n")
    head = head.replace("From: " + harness, "From: " + identity)
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

# cover DIR NAME: fill in the cover letter of set NAME
cover() {
    local dir=$1 letter=$1/0000-cover-letter.patch
    (cd "$SRC" && perl scripts/get_maintainer.pl --no-git --no-git-fallback \
        --no-rolestats $(ls "$dir"/*.patch | grep -v /0000-cover-letter)) \
        > "$dir/.cc" 2>/dev/null || die "scripts/get_maintainer.pl failed"
    python3 - "$letter" "$TOP/patches/cover/$2" "$dir/.cc" <<'PY'
import sys

letter, text = sys.argv[1], open(sys.argv[2]).read()
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
from=$BASE_TAG
while read -r word set prefix; do
    [ "$word" = series ] || continue
    dir=$OUT/$set
    letter=()
    [ -f "$TOP/patches/cover/$set" ] && letter=(--cover-letter)
    git -C "$SRC" -c user.name="$name" -c user.email="$email" \
        format-patch -q "${letter[@]}" --subject-prefix="$prefix" \
        -o "$dir" "$from..series/$set"
    sign "$dir"
    [ ${#letter[@]} -eq 0 ] || cover "$dir" "$set"
    from=series/$set
done < "$TOP/patches/series"

info "series in ${OUT#$TOP/}, from $identity:"
(cd "$OUT" && find . -name '*.patch' | sort | sed 's|^\./|    |')
