# SPDX-License-Identifier: GPL-2.0-or-later
"""A Resolution as a KVM filter: a plain list of event selects and unit
masks, or masked entries where a plain list would be longer or exceed
KVM's 300 entries; written as the kvm-pmu-filter object QEMU takes or as
the <filter> element of the libvirt domain XML."""

import functools
import json

from .errors import PolicyError

KVM_MAX_EVENTS = 300
ALL_UMASKS = (1 << 256) - 1


class Entry:
    """One masked entry: the unit masks u of @select with u & mask == match"""

    def __init__(self, select, mask, match, exclude=False):
        self.select = select
        self.mask = mask
        self.match = match
        self.exclude = exclude

    def matches(self, umask):
        return umask & self.mask == self.match


class Filter:
    """@entries are plain (select, umask) pairs, or Entry objects when
    @masked; @bitmap is the fixed-counter bitmap, None for AMD"""

    def __init__(self, action, entries, masked, bitmap):
        self.action = action
        self.entries = entries
        self.masked = masked
        self.bitmap = bitmap


@functools.cache
def cubes():
    """Every (mask, match, set of unit masks) of a masked entry, the ones
    that match most unit masks first"""
    out = []
    for mask in sorted(range(256), key=lambda m: bin(m).count("1")):
        free = ~mask & 0xff
        subsets = [s for s in range(256) if s & free == s]
        match = mask
        while True:
            out.append((mask, match, sum(1 << (match | s) for s in subsets)))
            if match == 0:
                break
            match = (match - 1) & mask
    return out


def greedy_cover(target, allowed):
    """Masked (mask, match) pairs whose union holds @target and lies within
    @allowed (sets of unit masks as 256-bit integers)"""
    fit = [c for c in cubes() if not c[2] & ~allowed and c[2] & target]
    chosen = []
    while target:
        best = max(fit, key=lambda c: (c[2] & target).bit_count())
        assert best[2] & target, "unit masks that no entry can hold"
        chosen.append(best)
        target &= ~best[2]
    return [(mask, match) for mask, match, _ in chosen]


def bits(umasks):
    return sum(1 << u for u in set(umasks))


def select_entries(select, listed, unlisted):
    """The fewest masked entries found for @select that list the unit
    masks @listed and none of @unlisted (other unit masks may go either
    way): entries that include, or one that includes every unit mask and
    entries that exclude"""
    dont_care = ALL_UMASKS & ~listed & ~unlisted
    if listed.bit_count() == 1:
        return [Entry(select, 0xff, listed.bit_length() - 1)]
    include = greedy_cover(listed, listed | dont_care)
    exclude = greedy_cover(unlisted, unlisted | dont_care) if unlisted else []
    if 1 + len(exclude) < len(include):
        return [Entry(select, 0, 0)] + [Entry(select, mask, match, True)
                                        for mask, match in exclude]
    return [Entry(select, mask, match) for mask, match in include]


def masked_entries(res):
    """Masked entries for @res.  An allow-list lists no unit mask it does
    not name; a deny-list may also deny unit masks that no event names."""
    entries = []
    for select in sorted({s for s, _ in res.encodings}):
        listed = bits(u for s, u in res.encodings if s == select)
        if res.action == "allow":
            unlisted = ALL_UMASKS & ~listed
        else:
            named = bits(u for e in res.model.events
                         for s, u in e.encodings if s == select)
            unlisted = named & ~listed
        entries += select_entries(select, listed, unlisted)
    return entries


def build(res, form="auto"):
    """The Filter for @res: plain unless masked entries are fewer or the
    plain list is longer than KVM takes (@form forces one)"""
    plain = sorted(res.encodings)
    bitmap = res.bitmap() if res.model.vendor == "intel" else None
    masked = masked_entries(res) if form != "plain" else None
    use_masked = form == "masked" or (
        form == "auto" and (len(masked) < len(plain) or
                            len(plain) > KVM_MAX_EVENTS))
    entries = masked if use_masked else plain
    if len(entries) > KVM_MAX_EVENTS:
        raise PolicyError("the filter needs %d entries, more than the %d "
                          "that KVM takes" % (len(entries), KVM_MAX_EVENTS))
    return Filter(res.action, entries, use_masked, bitmap)


def to_object(flt, fid):
    obj = {"qom-type": "kvm-pmu-filter", "id": fid, "action": flt.action}
    if flt.bitmap is not None:
        obj["x86-fixed-counter"] = {"bitmap": "%#x" % flt.bitmap}
    obj["events"] = [json_event(e, flt.masked) for e in flt.entries]
    return obj


def json_event(entry, masked):
    if not masked:
        select, umask = entry
        return {"format": "x86-default", "select": "%#x" % select,
                "umask": "0x%02x" % umask}
    out = {"format": "x86-masked-entry", "select": "%#x" % entry.select,
           "mask": "0x%02x" % entry.mask, "match": "0x%02x" % entry.match}
    if entry.exclude:
        out["exclude"] = True
    return out


def to_json(flt, fid):
    return json.dumps(to_object(flt, fid), separators=(",", ":"))


def to_xml(flt):
    lines = ["<filter action='%s'>" % flt.action]
    if flt.bitmap is not None:
        lines.append("  <fixedCounters bitmap='%#x'/>" % flt.bitmap)
    for e in flt.entries:
        if not flt.masked:
            lines.append("  <event type='selectUmask' select='%#x' "
                         "umask='0x%02x'/>" % e)
        else:
            lines.append("  <event type='masked' select='%#x' mask='0x%02x' "
                         "match='0x%02x'%s/>" % (
                             e.select, e.mask, e.match,
                             " exclude='yes'" if e.exclude else ""))
    lines.append("</filter>")
    return "\n".join(lines)
