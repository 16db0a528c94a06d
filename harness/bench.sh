#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench: start-up cost of a filter, instructions per event, before
# and after the QObject patches (set 0-qobject), switch latency with the
# kernel's share, build times.  Prints a table and writes it into
# README.md.

. "$(dirname "$0")/common.sh"

OUT=$BUILD/bench
RUNS=${BENCH_RUNS:-61}
EVENTS=300          # in each filter, here and in bench/encode-driver.c
FORMATS="raw x86-default x86-masked-entry"
OURS="--toggle-collect=kvm_pmu_filter_complete
      --toggle-collect=kvm_pmu_filter_get_events
      --toggle-collect=kvm_x86_pmu_filter_check
      --toggle-collect=kvm_x86_pmu_filter_encode"
mkdir -p "$OUT"
results=$OUT/results.jsonl
: > "$results"

# callgrind NAME COMMAND...: run COMMAND under callgrind, keeping the
# profile in $OUT/cg-NAME, and print the instructions it collected
callgrind() {
    local profile=$OUT/cg-$1
    shift
    valgrind --tool=callgrind --callgrind-out-file="$profile" "$@" \
        > /dev/null 2>&1 || die "callgrind run for $profile failed"
    sed -n 's/^summary: //p' "$profile"
}

instructions() {
    local fmt iters=10 all ours
    info "instructions per event (callgrind, $iters filters of $EVENTS events)"
    "$TOP/harness/bench-driver.sh"
    for fmt in $FORMATS; do
        all=$(callgrind "all.$fmt" --toggle-collect=convert_and_encode \
              "$OUT/encode-driver" "$fmt" $iters)
        # shellcheck disable=SC2086
        ours=$(callgrind "ours.$fmt" $OURS \
               "$OUT/encode-driver" "$fmt" $iters)
        echo "{\"kind\": \"insn\", \"format\": \"$fmt\"," \
             "\"all\": $((all / (iters * EVENTS)))," \
             "\"ours\": $((ours / (iters * EVENTS)))}" >> "$results"
    done
}

# The series without the QObject patches (set 0-qobject), built in
# build/bench-before, for the figures before them
BEFORE_SRC=$BUILD/bench-before/qemu
BEFORE_OBJ=$BUILD/bench-before/obj
before_build() {
    local first last commits
    # the set's commits are the n-th to m-th of build/qemu's series
    read -r first last < <(awk '$1 == "series" { on = ($2 == "0-qobject") }
        $1 == "commit" { n++; if (on) { if (!f) f = n; l = n } }
        END { print f, l }' "$TOP/patches/series")
    [ -n "$first" ] || die "no set 0-qobject in patches/series"
    mapfile -t commits < <(git -C "$SRC" rev-list --reverse "$BASE_TAG"..series |
                           sed -n "${first},${last}p")
    info "the series without set 0-qobject (${#commits[@]} commits), in build/bench-before"
    rm -rf "$BEFORE_SRC"
    git -C "$SRC" worktree prune
    git -C "$SRC" worktree add -q --detach "$BEFORE_SRC" series
    git -C "$BEFORE_SRC" -c user.name=bench -c user.email=bench@invalid \
        revert --no-edit "${commits[0]}~1..${commits[-1]}" > /dev/null ||
        die "reverting set 0-qobject failed"
    KPF_SRC=$BEFORE_SRC KPF_OBJ=$BEFORE_OBJ "$TOP/harness/configure.sh" > /dev/null
    ninja_build "$BEFORE_OBJ" "$BEFORE_OBJ/build.log" qemu-system-x86_64 ||
        die "the build without set 0-qobject failed"
}

# QEMU's start-up under callgrind, -accel qtest so no KVM is needed
startup_instructions() {
    local obj none raw label qemu quit='{"execute":"qmp_capabilities"}{"execute":"quit"}'
    local args=(-M none -accel qtest -display none -nodefaults -S -qmp stdio)
    info "start-up instructions with and without a $EVENTS-event -object (callgrind)"
    obj=$(python3 -c "import sys; sys.path.insert(0, '$TOP/bench')
import startup; print(startup.filter_object('raw', $EVENTS))")
    for label in before after; do
        qemu=$BUILD/obj/qemu-system-x86_64
        [ $label = after ] || qemu=$BEFORE_OBJ/qemu-system-x86_64
        none=$(echo "$quit" | callgrind qemu.$label.none "$qemu" "${args[@]}")
        raw=$(echo "$quit" | callgrind qemu.$label.raw "$qemu" "${args[@]}" \
              -object "$obj")
        echo "{\"kind\": \"startup-insn\", \"qdict\": \"$label\"," \
             "\"none\": $none, \"raw\": $raw," \
             "\"per_event\": $(( (raw - none) / EVENTS ))}" >> "$results"
    done
}

qmp_schema() {
    info "QMP replies before and after set 0-qobject, query-qmp-schema round trips"
    python3 "$TOP/bench/qmp_schema.py" "$BEFORE_OBJ/qemu-system-x86_64" \
        "$BUILD/obj/qemu-system-x86_64" 200 >> "$results" ||
        die "the QMP comparison failed"
}

switch_latency() {
    info "set-kvm-pmu-filter against query-status on a running 2-vCPU guest"
    build_kvm_shim "$OUT/kvm-shim.so"
    KVM_SHIM=$OUT/kvm-shim.so python3 "$TOP/bench/switch.py" 1000 \
        >> "$results" || die "switch measurement failed"
}

startup() {
    info "start-up to QMP ready and quit, $RUNS runs per configuration"
    build_kvm_shim "$OUT/kvm-shim.so"
    KVM_SHIM=$OUT/kvm-shim.so python3 "$TOP/bench/startup.py" "$RUNS" |
        sed 's/^{/{"kind": "startup", /' >> "$results" ||
        die "start-up measurement failed"
}

build_times() {
    local obj=$BUILD/bench-obj t0 t1 t2
    info "clean build in build/bench-obj (ccache as it is), then a one-file rebuild"
    rm -rf "$obj"
    t0=$(date +%s.%N)
    KPF_OBJ=$obj "$TOP/harness/configure.sh" > /dev/null
    t1=$(date +%s.%N)
    ninja -C "$obj" > "$OUT/build.log" 2>&1 || die "clean build failed"
    t2=$(date +%s.%N)
    touch "$SRC/accel/kvm/kvm-pmu.c"
    /usr/bin/time -f %e -o "$OUT/incremental" \
        ninja -C "$obj" > "$OUT/build-incr.log" 2>&1 ||
        die "incremental build failed"
    echo "{\"kind\": \"build\", \"configure\": $(awk "BEGIN {print $t1 - $t0}")," \
         "\"ninja\": $(awk "BEGIN {print $t2 - $t1}")," \
         "\"incremental\": $(cat "$OUT/incremental")," \
         "\"steps\": $(grep -c '^\[' "$OUT/build-incr.log")}" >> "$results"
    rm -rf "$obj"
}

before_build
instructions
startup_instructions
qmp_schema
startup
switch_latency
build_times
python3 "$TOP/bench/report.py" "$results" "$TOP/README.md"
