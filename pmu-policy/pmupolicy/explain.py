# SPDX-License-Identifier: GPL-2.0-or-later
"""What a filter means for the named events of a model, by the rules of
KVM's filter code: an event (select, unit mask) is listed when an entry
without exclude matches it and no entry with exclude does (a plain
entry matches one unit mask); an allow-list lets the guest count what it
lists, a deny-list all else; fixed counters go by the bitmap alone, and
KVM gives Intel guests only the first three."""

import json

from .errors import PolicyError
from .policy import KVM_FIXED_COUNTERS

ALLOWED, DENIED, PARTLY, NEVER = "allowed", "denied", "partly", "never"


def listed(flt, select, umask):
    mine = [e for e in flt.entries if e.select == select and
            e.matches(umask)]
    return any(not e.exclude for e in mine) and \
        not any(e.exclude for e in mine)


def check_vendor(flt, model):
    """Refuse a filter written for the other vendor than @model's"""
    if model.vendor == "intel":
        wide = [e.select for e in flt.entries if e.select > 0xff]
        if wide:
            raise PolicyError("the filter has event select %#x, wider than "
                              "Intel's 8 bits: it is for AMD, not for %s "
                              "(Intel)" % (wide[0], model.name))
    elif flt.bitmap:
        raise PolicyError("the filter sets fixed counters (bitmap %#x), "
                          "which AMD processors do not have: it is for "
                          "Intel, not for %s (AMD)"
                          % (flt.bitmap, model.name))


def fixed_allowed(flt, index):
    return bool(flt.bitmap >> index & 1) == (flt.action == "allow")


def event_status(flt, ev):
    if not ev.encodings:
        if ev.fixed >= KVM_FIXED_COUNTERS:
            return NEVER
        return ALLOWED if fixed_allowed(flt, ev.fixed) else DENIED
    allow = flt.action == "allow"
    counts = [listed(flt, s, u) == allow for s, u in ev.encodings]
    if all(counts):
        return ALLOWED
    return PARTLY if any(counts) else DENIED


def unnamed_entries(flt, model):
    """Include entries that match no unit mask any event of @model has"""
    named = {enc for e in model.events for enc in e.encodings}
    return [e for e in flt.entries if not e.exclude and
            not any(s == e.select and e.matches(u) for s, u in named)]


class Explanation:
    def __init__(self, flt, model):
        check_vendor(flt, model)
        self.filter = flt
        self.model = model
        self.status = {ev.name: event_status(flt, ev) for ev in model.events}
        self.unnamed = unnamed_entries(flt, model)

    def names(self, status, deprecated=True):
        return sorted(ev.name for ev in self.model.events
                      if self.status[ev.name] == status and
                      (deprecated or not ev.deprecated))

    def to_json(self):
        return json.dumps({
            "model": self.model.name, "cpuid": self.model.cpuid,
            "source": self.model.source, "action": self.filter.action,
            ALLOWED: self.names(ALLOWED), DENIED: self.names(DENIED),
            PARTLY: self.names(PARTLY), NEVER: self.names(NEVER),
            "unnamed": [entry_text(e) for e in self.unnamed]}, indent=1)

    def to_text(self, everything=False):
        flt, model = self.filter, self.model
        shown = [ev for ev in model.events if not ev.deprecated]
        out = ["Model %s" % model.describe(), describe_filter(flt, model),
               ""]
        mine = ALLOWED if flt.action == "allow" else DENIED
        other = DENIED if mine == ALLOWED else ALLOWED
        for status in (mine, other):
            group = [ev for ev in shown if self.status[ev.name] == status]
            out.append("The guest %s %d of the %d named events%s" % (
                "can count" if status == ALLOWED else "cannot count",
                len(group), len(shown), ":" if group else "."))
            if status == mine or everything:
                out += listing(group)
            elif group:
                out.append("  by topic: %s (--all lists them)"
                           % by_topic(group))
        out += self.notes(shown)
        return "\n".join(out)

    def notes(self, shown):
        out = []
        flt = self.filter
        if flt.action == "allow" and flt.entries and \
                all(e.exclude for e in flt.entries):
            out.append("Every entry excludes: an allow-list whose entries "
                       "only exclude lists no event, so the guest can count "
                       "no general-purpose event at all.")
        if self.model.vendor == "intel":
            usable = [i for i in range(KVM_FIXED_COUNTERS)
                      if fixed_allowed(flt, i)]
            out.append("Fixed counters the guest can use: %s (0 counts "
                       "instructions, 1 core cycles, 2 reference cycles)."
                       % (", ".join(map(str, usable)) or "none"))
        partly = [ev for ev in shown if self.status[ev.name] == PARTLY]
        if partly:
            out.append("Counted on some of their encodings only:")
            out += listing(partly)
        never = [ev for ev in shown if self.status[ev.name] == NEVER]
        if never:
            out.append("Never counted by a guest, which KVM gives at most %d "
                       "fixed counters:" % KVM_FIXED_COUNTERS)
            out += listing(never)
        if self.unnamed:
            out.append("Entries that name no event of %s: %s" % (
                self.model.name,
                ", ".join(entry_text(e) for e in self.unnamed)))
        return out


def describe_filter(flt, model):
    one, many = ("masked entry", "masked entries") if flt.masked else \
        ("event", "events")
    count = len(flt.entries)
    kind = one if count == 1 else many
    text = "Filter: %s-list of %d %s" % (flt.action, count, kind)
    if model.vendor == "intel":
        text += ", fixed-counter bitmap %#x" % flt.bitmap
    return text


def entry_text(e):
    if e.mask == 0xff and not e.exclude:
        return "%#x/0x%02x" % (e.select, e.match)
    return "%#x mask 0x%02x match 0x%02x%s" % (
        e.select, e.mask, e.match, " exclude" if e.exclude else "")


def encoding_text(ev):
    if not ev.encodings:
        return "fixed counter %d" % ev.fixed
    return " ".join("%#x/0x%02x" % enc for enc in ev.encodings)


def listing(events):
    """One line per encoding: the encoding, then the events that have it"""
    groups = {}
    for ev in events:
        groups.setdefault(encoding_text(ev), []).append(ev.name)
    return ["  %-17s %s" % (key, ", ".join(sorted(names)))
            for key, names in sorted(groups.items(), key=group_order)]


def group_order(item):
    key = item[0]
    return (not key.startswith("fixed"), key)


def by_topic(events):
    counts = {}
    for ev in events:
        counts[ev.topic] = counts.get(ev.topic, 0) + 1
    return ", ".join("%s %d" % kv for kv in sorted(counts.items()))
