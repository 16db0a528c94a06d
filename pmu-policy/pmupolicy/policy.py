# SPDX-License-Identifier: GPL-2.0-or-later
"""A policy, an action and a list of event names, perf topics and
presets, resolved against a model's events: the event select and unit
mask pairs and fixed counters that a KVM filter must list, and what the
operator must be told about it."""

import fnmatch

from .errors import PolicyError
from .tables import MSR_NAMES, unknown

# KVM gives Intel guests at most this many fixed counters (kvm_host.h)
KVM_FIXED_COUNTERS = 3
MAX_NAMES_SHOWN = 4

# Intel: the seven events of architectural perfmon version 2, the
# version KVM gives guests (CPUID.0AH:EBX bits 0-6), without the two
# last-level cache events (bits 3 and 4), and the three fixed counters
# that count the same as the first three.  AMD: cycles, instructions,
# branches and branch misses, the events that perf's generic hardware
# events use on every AMD core.
ARCHITECTURAL = {
    "intel": ([(0x3c, 0x00), (0xc0, 0x00), (0x3c, 0x01), (0xc4, 0x00),
               (0xc5, 0x00)], [0, 1, 2]),
    "amd": ([(0x76, 0x00), (0xc0, 0x00), (0xc2, 0x00), (0xc3, 0x00)], []),
}
# Intel's architectural last-level cache references and misses
LLC = [(0x2e, 0x4f), (0x2e, 0x41)]
PRESETS = {
    "architectural": "the architectural events without the last-level "
                     "cache ones, and on Intel fixed counters 0-2",
    "llc": "the last-level cache events (Intel: event select 0x2e)",
    "offcore": "the offcore response events (Intel: those perf programs "
               "with MSR 0x1a6/0x1a7)",
}


class Selection:
    """What a list of terms chose: events, and the encodings and fixed
    counters that presets add on their own"""

    def __init__(self):
        self.events = {}
        self.encodings = set()
        self.fixed = set()

    def add(self, events):
        for ev in events:
            self.events.setdefault(ev.name, ev)


class Resolution:
    def __init__(self, model, action, selection):
        self.model = model
        self.action = action
        self.events = selection.events
        self.encodings = set(selection.encodings)
        self.fixed = set(selection.fixed)
        self.warnings = []

    def bitmap(self):
        return sum(1 << i for i in self.fixed)


def preset_events(model, name):
    """(events, extra encodings, fixed counters) of preset @name"""
    if name == "architectural":
        encodings, fixed = ARCHITECTURAL[model.vendor]
        events = [e for e in model.events
                  if (e.encodings and set(e.encodings) <= set(encodings)) or
                  (not e.encodings and e.fixed in fixed)]
        return events, encodings, fixed
    if name == "llc":
        if model.vendor != "intel":
            return [], [], []
        return ([e for e in model.events
                 if any(s == 0x2e for s, _ in e.encodings)], LLC, [])
    return [e for e in model.events if e.msr in (0x1a6, 0x1a7)], [], []


def match_term(model, term):
    """The events that @term names: a preset, a perf topic, or event
    names with shell wildcards"""
    low = term.lower()
    topic = low.replace(" ", "-")
    if low in PRESETS:
        return "preset", preset_events(model, low)
    if topic in model.topics():
        return "topic", ([e for e in model.events if e.topic == topic],
                         [], [])
    pattern = term.upper()
    events = [e for e in model.events
              if fnmatch.fnmatchcase(e.name.upper(), pattern)]
    return "events", (events, [], [])


def uncore_only(model, term):
    pattern = term.upper()
    return sorted(n for n in model.uncore
                  if fnmatch.fnmatchcase(n, pattern))


def select(model, terms):
    """A Selection for @terms; an unknown name is an error that names the
    near matches, a term for uncore events a warning"""
    sel = Selection()
    warnings = []
    for term in terms:
        kind, (events, encodings, fixed) = match_term(model, term)
        if kind == "events" and not events:
            uncore = uncore_only(model, term)
            if not uncore:
                raise PolicyError(unknown("event", term, known_words(model)) +
                                  " (model %s)" % model.name)
            warnings.append("%s: %s of %s's uncore PMUs (%s), which KVM "
                            "does not give guests; nothing to filter"
                            % (term, names(uncore), model.name,
                               model.uncore[uncore[0]]))
            continue
        if kind == "preset" and not (events or encodings or fixed):
            warnings.append("preset %s: %s has none of %s"
                            % (term, model.name, PRESETS[term.lower()]))
        sel.add(events)
        sel.encodings |= set(encodings)
        sel.fixed |= set(fixed)
    return sel, warnings


def known_words(model):
    return ([e.name for e in model.events] + model.topics() + list(PRESETS))


def names(items, limit=MAX_NAMES_SHOWN):
    items = list(items)
    shown = ", ".join(items[:limit])
    if len(items) > limit:
        shown += " and %d more" % (len(items) - limit)
    return shown


def resolve(model, action, terms):
    """The Resolution of policy @action @terms for @model"""
    if action not in ("allow", "deny"):
        raise PolicyError("action must be allow or deny, not '%s'" % action)
    if not terms:
        raise PolicyError("no events given: name events, perf topics or "
                          "presets (%s)" % ", ".join(sorted(PRESETS)))
    sel, warnings = select(model, terms)
    incomplete = sorted(e.name for e in sel.events.values() if e.incomplete)
    if incomplete:
        raise PolicyError("%s: %s gives only one of the event selects that "
                          "offcore response events use; take them from "
                          "perf's JSON tables (--tables)"
                          % (names(incomplete), model.source))
    res = Resolution(model, action, sel)
    res.warnings = warnings
    for ev in sel.events.values():
        res.encodings |= set(ev.encodings)
        if not ev.encodings and ev.fixed is not None:
            res.fixed.add(ev.fixed)
    check_fixed(res)
    warn_msr(res)
    warn_shared(res)
    warn_action(res)
    return res


def check_fixed(res):
    if res.model.vendor == "amd":
        res.fixed.clear()
        return
    beyond = sorted(i for i in res.fixed if i >= KVM_FIXED_COUNTERS)
    for index in beyond:
        res.fixed.discard(index)
        evs = [e.name for e in res.events.values() if e.fixed == index and
               not e.encodings]
        res.warnings.append("%s: counts only on fixed counter %d, and KVM "
                            "gives Intel guests at most %d fixed counters; "
                            "left out" % (names(evs), index,
                                          KVM_FIXED_COUNTERS))


def warn_msr(res):
    """Events that perf programs with an MSR KVM does not give guests"""
    if res.action != "allow":
        return
    groups = {}
    for ev in res.events.values():
        if ev.msr is not None:
            groups.setdefault(ev.msr, []).append(ev.name)
    for msr, evs in sorted(groups.items()):
        res.warnings.append("%s: need%s MSR %#x (%s), which KVM does not "
                            "give guests: a guest cannot count %s as perf "
                            "defines %s" % (
                                names(sorted(evs)),
                                "s" if len(evs) == 1 else "", msr,
                                MSR_NAMES.get(msr, "unknown"),
                                "it" if len(evs) == 1 else "them",
                                "it" if len(evs) == 1 else "them"))


def difference(chosen, others):
    """Why the filter cannot tell @others from the @chosen events that
    share their encoding"""
    msrs = {e.msr for e in chosen + others if e.msr is not None}
    if msrs:
        return "they differ in the %s MSR, which KVM does not give guests" \
            % "/".join(sorted({MSR_NAMES.get(m, hex(m)) for m in msrs}))
    mods = sorted({m for e in chosen + others for m in e.modifiers})
    if mods:
        return ("they differ in %s, which KVM's filter does not compare"
                % "/".join(m for m in mods))
    return None


def warn_shared(res):
    """Events the policy does not name that share an event select and unit
    mask with one it does: the filter decides about them alike"""
    verb = "allowed" if res.action == "allow" else "denied"
    for enc in sorted(res.encodings):
        others = [e for e in res.model.events
                  if enc in e.encodings and e.name not in res.events]
        if not others:
            continue
        chosen = [e for e in res.events.values() if enc in e.encodings]
        why = difference(chosen, others)
        if why is None:
            continue
        res.warnings.append(
            "%#x/%#04x: %s %s too: %s, which share%s this event select "
            "and unit mask with %s; %s" % (
                enc[0], enc[1], names(sorted(e.name for e in others)), verb,
                "it is an event the policy does not name" if len(others) == 1
                else "events the policy does not name",
                "s" if len(others) == 1 else "",
                names(sorted(e.name for e in chosen)) or "the policy", why))


def warn_action(res):
    model = res.model
    if res.action == "deny":
        res.warnings.append(
            "a deny-list lets the guest count every event it does not list: "
            "%d more named events of %s, unit masks that no event names, "
            "and every event of a newer model" % (
                len([e for e in model.events
                     if not set(e.encodings) & res.encodings and
                     not (e.fixed in res.fixed and not e.encodings)]),
                model.name))
    elif not res.encodings and not res.fixed:
        res.warnings.append("the allow-list lists nothing: the guest can "
                            "count no event")
