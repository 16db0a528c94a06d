#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make fuzz: build fuzz/fuzz-pmu-filter.c with clang's libFuzzer, ASan and
# UBSan (our object and encoder compiled in, QEMU's QOM, QAPI and JSON
# code linked from build/obj), then fuzz for FUZZ_SECONDS seconds with
# FUZZ_JOBS processes, starting from seeds taken from the tests.  Inputs
# are capped at FUZZ_MAX_LEN bytes (default 1024, about 30 events): long
# lists are slow to mutate and covered by the malformed-filter tests.

. "$(dirname "$0")/common.sh"

OUT=$BUILD/fuzz
SECONDS_TO_RUN=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-$(nproc)}
UNIT=tests/unit/test-kvm-pmu-filter
SANITIZE="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
mkdir -p "$OUT/corpus" "$OUT/seeds" "$OUT/crashes"

build() {
    local flags objs src
    cd "$OBJ"
    # include paths and defines of the object's unit test
    flags=$(ninja -t commands "$UNIT.p/test-kvm-pmu-filter.c.o" | tail -1 |
            grep -oE -- "(-I|-iquote |-isystem |-D|-include )[^ ]+" | tr '\n' ' ')
    # what it links, minus its own objects (ours are rebuilt with clang)
    objs=$(ninja -t commands "$UNIT" | tail -1 | tr ' ' '\n' |
           grep -E '^(lib|/usr/lib|-l|-pthread)' | grep -v "^$UNIT" | tr '\n' ' ')
    for src in "$SRC/accel/kvm/kvm-pmu.c" \
               "$SRC/target/i386/kvm/pmu-filter-encode.c" \
               "$TOP/fuzz/fuzz-pmu-filter.c"; do
        # shellcheck disable=SC2086
        clang -std=gnu11 -O1 -g $SANITIZE $flags -Wall -Werror \
            -Wno-unused-function -c "$src" \
            -o "$OUT/$(basename "$src" .c).o" || die "cannot compile $src"
    done
    # shellcheck disable=SC2086
    clang $SANITIZE -o "$OUT/fuzz-pmu-filter" "$OUT"/*.o \
        -Wl,--start-group $objs -Wl,--end-group ||
        die "cannot link the fuzzer"
    cd "$TOP"
}

info "building the fuzzer (clang, libFuzzer, ASan, UBSan)"
build
python3 "$TOP/fuzz/seeds.py" "$OUT/seeds"
info "fuzzing for ${SECONDS_TO_RUN}s with $JOBS jobs" \
     "($(ls "$OUT/seeds" | wc -l) seeds, corpus in build/fuzz/corpus)"
status=0
(cd "$OUT" && ASAN_OPTIONS=detect_leaks=1 ./fuzz-pmu-filter \
    -max_total_time="$SECONDS_TO_RUN" -jobs="$JOBS" -workers="$JOBS" \
    -max_len="${FUZZ_MAX_LEN:-1024}" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$OUT/crashes/" corpus seeds > fuzz.log 2>&1) || status=$?
execs=0
for log in "$OUT"/fuzz-*.log; do
    n=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -1)
    [ -n "$n" ] || n=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
    execs=$((execs + ${n:-0}))
done
crashes=$(ls "$OUT/crashes" | wc -l)
echo "    $execs executions, $crashes crashes, corpus of $(ls "$OUT/corpus" | wc -l) inputs"
[ "$status" -eq 0 ] && [ "$crashes" -eq 0 ] ||
    die "the fuzzer found a problem: see build/fuzz/fuzz-*.log and build/fuzz/crashes/"
