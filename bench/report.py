# SPDX-License-Identifier: GPL-2.0-or-later
"""Turn make bench's results into a Markdown table, print it and put it
into README.md between the bench markers."""

import datetime
import json
import os
import platform
import re
import sys

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} CPUs, Linux {platform.release()}"


def table(results):
    startup = [r for r in results
               if r["kind"] == "startup" and r["config"] != "ioctls"]
    ioctls = next(r for r in results
                  if r["kind"] == "startup" and r["config"] == "ioctls")
    base = next(r for r in startup if r["config"] == "patched, no filter")
    lines = [f"Measured {datetime.date.today()} on {machine()} by `make bench`.",
             "",
             "| start-up to QMP ready and quit (`-S`, KVM, `-M pc`) "
             "| mean | 95% CI | median | IQR | ratio of means to no filter |",
             "|---|---|---|---|---|---|"]
    for r in startup:
        ratio = r["mean_ms"] / base["mean_ms"]
        lines.append(f"| {r['config']} ({r['runs']} runs) "
                     f"| {r['mean_ms']:.1f} ms | ±{r['ci95_ms']:.1f} ms "
                     f"| {r['median_ms']:.1f} ms | {r['iqr_ms']:.1f} ms "
                     f"| {ratio:.3f} |")
    lines.append("| of 300 raw events: the kernel's `KVM_SET_PMU_EVENT_FILTER` "
                 f"ioctls, timed by the KVM shim ({ioctls['runs']} runs) "
                 f"| {ioctls['mean_ms']:.2f} ms | ±{ioctls['ci95_ms']:.2f} ms "
                 f"| {ioctls['median_ms']:.2f} ms | {ioctls['iqr_ms']:.2f} ms "
                 f"| {ioctls['mean_ms'] / base['mean_ms']:.3f} |")
    switch = next(r for r in results if r["kind"] == "switch")
    lines += ["",
              "| QMP round trip, 2-vCPU guest (median of "
              f"{switch['runs']}) | running | stopped |",
              "|---|---|---|",
              f"| `query-status` | {switch['status_us']:.0f} µs "
              f"| {switch['stopped_status_us']:.0f} µs |",
              "| `set-kvm-pmu-filter` between two 300-event filters "
              f"| {switch['switch_us']:.0f} µs "
              f"| {switch['stopped_switch_us']:.0f} µs |",
              "| ratio | "
              f"{switch['switch_us'] / switch['status_us']:.2f} "
              f"| {switch['stopped_switch_us'] / switch['stopped_status_us']:.2f} |",
              "| the `KVM_SET_PMU_EVENT_FILTER` ioctl in a switch (timed "
              f"by the KVM shim) | {switch['ioctl_us']:.0f} µs "
              f"| {switch['stopped_ioctl_us']:.0f} µs |",
              "| QEMU's share of a switch (round trip less the ioctl), "
              "against `query-status` | "
              f"{qemu_share(switch, '')} | {qemu_share(switch, 'stopped_')} |"]
    lines += ["",
              "| instructions per event (callgrind, 300-event filters) "
              "| our code: parse, validate, encode "
              "| whole object-add path |",
              "|---|---|---|"]
    for r in results:
        if r["kind"] == "insn":
            lines.append(f"| {r['format']} | {r['ours']} | {r['all']} |")
    qemu = {r["qdict"]: r for r in results if r["kind"] == "startup-insn"}
    lines += ["",
              "| QEMU start-up instructions (callgrind, `-M none -accel qtest`) "
              "| before set `0-qobject` | with it |",
              "|---|---|---|"]
    for key, label in (("none", "no filter"),
                       ("raw", "`-object` with 300 raw events"),
                       ("per_event", "added per event")):
        lines.append(f"| {label} | {qemu['before'][key]:,} "
                     f"| {qemu['after'][key]:,} |")
    schema = next(r for r in results if r["kind"] == "qmp-schema")
    lines += ["",
              f"| `query-qmp-schema` round trip ({schema['bytes']:,} bytes, "
              f"median of {schema['runs']}) | before set `0-qobject` "
              "| with it |",
              "|---|---|---|",
              f"| time | {schema['before_ms']:.2f} ms "
              f"| {schema['after_ms']:.2f} ms |",
              f"| replies compared byte for byte | {schema['identical']} "
              "| identical |"]
    build = next(r for r in results if r["kind"] == "build")
    lines += ["",
              "| build | time |",
              "|---|---|",
              f"| configure | {build['configure']:.0f} s |",
              f"| clean build, ccache as found | {build['ninja']:.0f} s |",
              f"| rebuild after touching `accel/kvm/kvm-pmu.c` "
              f"({build['steps']} steps) | {build['incremental']:.1f} s |"]
    return "\n".join(lines)


def qemu_share(switch, prefix):
    share = switch[prefix + "switch_us"] - switch[prefix + "ioctl_us"]
    return f"{share:.0f} µs, {share / switch[prefix + 'status_us']:.2f}×"


def main():
    with open(sys.argv[1]) as f:
        results = [json.loads(line) for line in f if line.strip()]
    text = table(results)
    print(text)
    readme = sys.argv[2]
    with open(readme) as f:
        old = f.read()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(old):
        sys.exit(f"{readme} has no {BEGIN} ... {END} section")
    with open(readme, "w") as f:
        f.write(pattern.sub(lambda m: f"{BEGIN}\n{text}\n{END}", old))


if __name__ == "__main__":
    main()
