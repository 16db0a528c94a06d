#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write, as JSON, how Linux's perf on an Intel guest reads CPUID leaf
0xA: which generic event each EBX bit stands for and how perf encodes
that event, taken by name from arch/x86/events/intel/core.c and
arch/x86/include/asm/perf_event.h of a linux source tree
(harness/fetch-linux.sh) at test time; nothing of the kernel is kept in
the repository.  A table or rule that disappears or changes shape stops
this script with its name.

  {"linux": VERSION,
   "min_events": N,   perf needs an EBX length (EAX[31:24]) of N or more
   "events": [{"bit": I, "id": "PERF_COUNT_HW_...", "name": ...,
               "select": S, "umask": U}, ...]}   by EBX bit

The rule the tests apply, checked here in perf's own words: perf drops
the generic event of every EBX bit that is set (intel_arch_events_quirk),
and offers the others with the encoding of intel_perfmon_event_map.
"""

import json
import re
import sys

CORE = "arch/x86/events/intel/core.c"
PERF_EVENT_H = "arch/x86/include/asm/perf_event.h"


def read(tree, path):
    with open("%s/%s" % (tree, path)) as f:
        return f.read()


def die(what):
    sys.exit("perf-arch-events: %s has changed shape: %s" % (CORE, what))


def initializer(src, name):
    """The text between the braces of the definition of array @name."""
    m = re.search(r"\b%s\s*\[[^\]]*\][^=;]*=\s*\{(.*?)\n\};" % name, src,
                  re.S)
    if not m:
        die("no array %s" % name)
    return m.group(1)


def function_body(src, name):
    m = re.search(r"\b%s\s*\(void\)\s*\{(.*?)\n\}" % name, src, re.S)
    if not m:
        die("no function %s" % name)
    return re.sub(r"\s+", " ", m.group(1))


def main():
    tree, out = sys.argv[1], sys.argv[2]
    core, header = read(tree, CORE), read(tree, PERF_EVENT_H)

    arch = re.findall(r"\{\s*(PERF_COUNT_HW_\w+)\s*,\s*\"([^\"]*)\"\s*\}",
                      initializer(core, "intel_arch_events_map"))
    if not arch:
        die("intel_arch_events_map lists no event")
    encodings = dict(re.findall(
        r"\[(PERF_COUNT_HW_\w+)\]\s*=\s*(0x[0-9a-fA-F]+)",
        initializer(core, "intel_perfmon_event_map")))
    quirk = function_body(core, "intel_arch_events_quirk")
    if ("for_each_set_bit(bit, x86_pmu.events_mask, "
            "ARRAY_SIZE(intel_arch_events_map))" not in quirk or
            "intel_perfmon_event_map[intel_arch_events_map[bit].id] = 0"
            not in quirk):
        die("intel_arch_events_quirk() no longer drops the events of the "
            "EBX bits that are set")
    if not re.search(r"mask_length\s*<\s*ARCH_PERFMON_EVENTS_COUNT\)\s*"
                     r"return -ENODEV;", core):
        die("intel_pmu_init() no longer needs ARCH_PERFMON_EVENTS_COUNT "
            "events")
    m = re.search(r"#define\s+ARCH_PERFMON_EVENTS_COUNT\s+(\d+)", header)
    if not m:
        sys.exit("perf-arch-events: no ARCH_PERFMON_EVENTS_COUNT in "
                 + PERF_EVENT_H)

    events = []
    for bit, (event_id, name) in enumerate(arch):
        if event_id not in encodings:
            die("intel_perfmon_event_map has no %s" % event_id)
        config = int(encodings[event_id], 16)
        events.append({"bit": bit, "id": event_id, "name": name,
                       "select": config & 0xff, "umask": config >> 8 & 0xff})
    with open(out, "w") as f:
        json.dump({"linux": read(tree, "VERSION").strip(),
                   "min_events": int(m.group(1)), "events": events}, f,
                  indent=1)


if __name__ == "__main__":
    main()
