# SPDX-License-Identifier: GPL-2.0-or-later
"""Linux perf's x86 event tables: the CPU models of mapfile.csv and the
core events of one model, read from tools/perf/pmu-events/arch/x86 of a
Linux source tree or from the output of `perf list -j`."""

import difflib
import glob
import json
import os
import re

from .errors import PolicyError

# Where harness/fetch-linux.sh keeps Debian's linux source
LINUX_CACHE = "/var/cache/kvm-pmu-filter/linux"
TABLES_SUBDIR = "tools/perf/pmu-events/arch/x86"
# The Unit of a core event: none, or a hybrid model's core type
CORE_UNITS = {None, "core", "cpu", "cpu_core", "cpu_atom", "cpu_lowpower"}
VENDORS = {"GenuineIntel": "intel", "AuthenticAMD": "amd"}
# MSRs that perf programs for some events, which KVM gives no guest
MSR_NAMES = {0x1a6: "offcore response", 0x1a7: "offcore response",
             0x3f6: "load latency", 0x3f7: "frontend"}
FIXED_COUNTER = re.compile(r"^Fixed counter (\d+)$")
CPUID = re.compile(r"^(GenuineIntel|AuthenticAMD)-(\d+)-([0-9A-Fa-f]+)"
                   r"(?:-([0-9A-Fa-f]+))?$")


class Event:
    """A named core event.  @encodings are the (select, unit mask) pairs
    that KVM's filter compares; @fixed is the fixed counter of an event
    that counts only there; @modifiers and @msr tell what else perf
    programs for it, which the filter cannot see."""

    def __init__(self, name, topic, encodings, fixed=None, modifiers=(),
                 msr=None, deprecated=False, incomplete=False):
        self.name = name
        self.topic = topic
        self.encodings = tuple(encodings)
        self.fixed = fixed
        self.modifiers = tuple(modifiers)
        self.msr = msr
        self.deprecated = deprecated
        self.incomplete = incomplete

    def __repr__(self):
        return "Event(%s)" % self.name


class Model:
    def __init__(self, name, vendor, cpuid, source, events, uncore):
        self.name = name
        self.vendor = vendor
        self.cpuid = cpuid
        self.source = source
        self.events = events
        self.uncore = uncore            # uncore event name -> its unit
        self.by_name = {e.name.upper(): e for e in events}

    def topics(self):
        return sorted({e.topic for e in self.events})

    def describe(self):
        return "%s (%s; %s)" % (self.name, self.cpuid, self.source)


def number(text):
    text = text.strip()
    return int(text, 16) if text.lower().startswith("0x") else int(text)


def default_tables():
    """perf's x86 tables in the harness's cache of Debian's linux, if any"""
    try:
        with open(os.path.join(LINUX_CACHE, "current")) as f:
            tree = f.read().strip()
    except OSError:
        return None
    path = os.path.join(tree, TABLES_SUBDIR)
    return path if os.path.isfile(os.path.join(path, "mapfile.csv")) else None


def linux_version(tables):
    tree = tables
    for _ in TABLES_SUBDIR.split("/"):
        tree = os.path.dirname(tree)
    try:
        with open(os.path.join(tree, "VERSION")) as f:
            return "Linux " + f.read().strip()
    except OSError:
        return tables


def read_mapfile(tables):
    """[(pattern, model name, vendor)] from mapfile.csv"""
    path = os.path.join(tables, "mapfile.csv")
    try:
        with open(path) as f:
            lines = f.read().splitlines()[1:]
    except OSError as e:
        raise PolicyError("cannot read perf's model map %s: %s"
                          % (path, e.strerror))
    out = []
    for line in lines:
        fields = line.split(",")
        if len(fields) >= 4 and fields[3] == "core":
            vendor = VENDORS.get(fields[0].split("-")[0])
            if vendor:
                out.append((fields[0], fields[2], vendor))
    return out


def mapfile_regex(pattern):
    return re.compile(pattern.replace("[[:xdigit:]]", "[0-9A-F]"))


def host_cpuid(cpuinfo="/proc/cpuinfo"):
    """The host's CPU as perf names it: VENDOR-FAMILY-MODEL-STEPPING"""
    fields = {}
    with open(cpuinfo) as f:
        for line in f:
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
            if not line.strip():
                break
    try:
        return "%s-%d-%X-%X" % (fields["vendor_id"], int(fields["cpu family"]),
                                int(fields["model"]), int(fields["stepping"]))
    except (KeyError, ValueError):
        raise PolicyError("cannot tell this host's CPU from %s" % cpuinfo)


def match_cpuid(entries, cpuid):
    """The model whose mapfile pattern matches @cpuid, as perf matches:
    the whole string, or all but the stepping for patterns without one"""
    m = CPUID.match(cpuid)
    vendor, family, model, stepping = m.groups()
    short = "%s-%s-%s" % (vendor, family, model.upper())
    full = short + "-" + stepping.upper() if stepping else None
    needs_stepping = []
    for pattern, name, _ in entries:
        with_stepping = pattern.count("-") == 3
        if with_stepping and not full:
            if mapfile_regex(pattern.rsplit("-", 1)[0]).fullmatch(short):
                needs_stepping.append(name)
            continue
        if mapfile_regex(pattern).fullmatch(full if with_stepping else short):
            return name
    if needs_stepping:
        raise PolicyError("CPU %s is one of %s by its stepping: add it "
                          "(%s-STEPPING)" % (cpuid, ", ".join(needs_stepping),
                                             short))
    raise PolicyError("no model of perf's tables matches CPU %s" % cpuid)


def find_model(tables, spec):
    """(model name, vendor, cpuid) for a perf model name, a CPU id such as
    GenuineIntel-6-8F, or "host" """
    entries = read_mapfile(tables)
    if spec == "host":
        spec = host_cpuid()
    if CPUID.match(spec):
        name = match_cpuid(entries, spec)
        cpuid = spec
    else:
        name = spec.lower()
        cpuid = next((p for p, n, _ in entries if n == name), None)
        if cpuid is None:
            raise PolicyError(unknown("CPU model", spec,
                                      sorted({n for _, n, _ in entries})))
    vendor = next(v for _, n, v in entries if n == name)
    return name, vendor, cpuid


def unknown(what, word, known):
    near = difflib.get_close_matches(word, known, n=3, cutoff=0.6)
    if not near:
        near = difflib.get_close_matches(word.upper(),
                                         [k.upper() for k in known], n=3,
                                         cutoff=0.6)
    hint = "; did you mean %s?" % " or ".join(near) if near else ""
    return "unknown %s '%s'%s" % (what, word, hint)


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise PolicyError("cannot read perf's event table %s: %s"
                          % (path, e))


def table_event(entry, topic):
    """An Event for one entry of perf's JSON tables, or None"""
    fixed = FIXED_COUNTER.match(entry.get("Counter", ""))
    code = entry.get("EventCode")
    umask = number(entry.get("UMask", "0"))
    if fixed and not code:
        encodings = ()
    else:
        selects = [number(c) for c in (code or "0").split(",")]
        if "ExtSel" in entry:
            selects = [s | number(entry["ExtSel"]) << 8 for s in selects]
        encodings = [(s, umask) for s in selects]
    modifiers = [key for key in ("CounterMask", "Invert", "EdgeDetect",
                                 "AnyThread")
                 if number(entry.get(key, "0") or "0")]
    msr = entry.get("MSRIndex")
    return Event(entry["EventName"], topic, encodings,
                 fixed=int(fixed.group(1)) if fixed else None,
                 modifiers=modifiers,
                 msr=number(msr.split(",")[0]) if msr else None,
                 deprecated=entry.get("Deprecated") == "1")


def load_tables(tables, spec):
    """The Model @spec from perf's JSON tables in directory @tables"""
    name, vendor, cpuid = find_model(tables, spec)
    events, uncore = [], {}
    for path in sorted(glob.glob(os.path.join(tables, name, "*.json"))):
        topic = os.path.basename(path)[:-len(".json")]
        data = load_json(path)
        if not isinstance(data, list):
            continue
        for entry in data:
            if "EventName" not in entry:
                continue
            if entry.get("Unit") in CORE_UNITS:
                events.append(table_event(entry, topic))
            else:
                uncore[entry["EventName"].upper()] = entry["Unit"]
    if not events:
        raise PolicyError("perf's tables have no core events for %s" % name)
    return Model(name, vendor, cpuid, "perf tables of %s"
                 % linux_version(tables), merge_hybrid(events), uncore)


def merge_hybrid(events):
    """One Event per name: a hybrid model's core types each have theirs,
    and the name stands for the encodings of both"""
    out = {}
    for ev in events:
        key = ev.name.upper()
        if key in out:
            first = out[key]
            first.encodings = tuple(dict.fromkeys(first.encodings +
                                                  ev.encodings))
        else:
            out[key] = ev
    return list(out.values())
