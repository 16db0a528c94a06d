#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench: start-up cost of a filter, instructions per event, build
# times.  Prints a table and writes it into README.md.

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

# QEMU's start-up under callgrind, -accel qtest so no KVM is needed
startup_instructions() {
    local obj none raw quit='{"execute":"qmp_capabilities"}{"execute":"quit"}'
    local qemu=("$BUILD/qemu-system-x86_64" -M none -accel qtest
                -display none -nodefaults -S -qmp stdio)
    info "start-up instructions with and without a $EVENTS-event -object (callgrind)"
    obj=$(python3 -c "import sys; sys.path.insert(0, '$TOP/bench')
import startup; print(startup.filter_object('raw', $EVENTS))")
    none=$(echo "$quit" | callgrind qemu.none "${qemu[@]}")
    raw=$(echo "$quit" | callgrind qemu.raw "${qemu[@]}" -object "$obj")
    echo "{\"kind\": \"startup-insn\", \"none\": $none, \"raw\": $raw," \
         "\"per_event\": $(( (raw - none) / EVENTS ))}" >> "$results"
}

switch_latency() {
    info "set-kvm-pmu-filter against query-status on a running 2-vCPU guest"
    KVM_SHIM= python3 "$TOP/bench/switch.py" 1000 >> "$results" ||
        die "switch measurement failed"
}

startup() {
    info "start-up to QMP ready and quit, $RUNS runs per configuration"
    python3 "$TOP/bench/startup.py" "$RUNS" |
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

instructions
startup_instructions
startup
switch_latency
build_times
python3 "$TOP/bench/report.py" "$results" "$TOP/README.md"
