# SPDX-License-Identifier: GPL-2.0-or-later
"""The host model's core events from the output of `perf list -j`
(Linux perf 6.3 and later), whose Encoding is the perf event string,
e.g. "cpu/event=0xc0,period=2000003,umask=0x0/"."""

import json

from .errors import PolicyError
from .tables import CORE_UNITS, Event, Model, merge_hybrid, number

MSR_TERMS = {"offcore_rsp": 0x1a6, "ldlat": 0x3f6, "frontend": 0x3f7}
MODIFIER_TERMS = {"cmask": "CounterMask", "inv": "Invert",
                  "edge": "EdgeDetect", "any": "AnyThread"}


def terms(encoding):
    """{term: value} of a perf event string "pmu/a=1,b=2/" """
    body = encoding.split("/")[1] if encoding.count("/") >= 2 else ""
    out = {}
    for part in body.split(","):
        key, sep, val = part.partition("=")
        if sep:
            out[key.strip()] = val.strip()
    return out


def list_event(entry, vendor):
    """An Event for one entry of perf list -j, or None if it is not a
    core event that perf encodes with an event select"""
    t = terms(entry.get("Encoding", ""))
    if "event" not in t:
        return None
    select, umask = number(t["event"]), number(t.get("umask", "0"))
    topic = (entry.get("Topic") or "other").replace(" ", "-")
    msr = next((m for k, m in MSR_TERMS.items() if k in t), None)
    mods = [name for key, name in MODIFIER_TERMS.items()
            if number(t.get(key, "0"))]
    if select == 0 and vendor == "intel":
        # perf's pseudo-encoding of fixed counter n: umask n + 1
        return Event(entry["EventName"], topic, (), fixed=umask - 1)
    # perf's event string keeps only the first of the two event selects
    # of an offcore response event
    return Event(entry["EventName"], topic, [(select, umask)],
                 modifiers=mods, msr=msr, incomplete=msr == 0x1a6)


def load_perf_list(path, vendor, cpuid):
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise PolicyError("cannot read perf list -j output %s: %s"
                          % (path, e))
    if not isinstance(data, list):
        raise PolicyError("%s is not the output of perf list -j" % path)
    events, uncore = [], {}
    for entry in data:
        if not isinstance(entry, dict) or "EventName" not in entry:
            continue
        if entry.get("Unit") in CORE_UNITS - {None}:
            ev = list_event(entry, vendor)
            if ev:
                events.append(ev)
        elif entry.get("Unit"):
            uncore[entry["EventName"].upper()] = entry["Unit"]
    if not events:
        raise PolicyError("%s lists no core events of this CPU" % path)
    return Model("host", vendor, cpuid, "perf list -j output %s" % path,
                 merge_hybrid(events), uncore)
