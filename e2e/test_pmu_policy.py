# SPDX-License-Identifier: GPL-2.0-or-later
"""The proof of pmu-policy: for four CPU models, a policy resolved by the
tool is installed by our QEMU, captured by the KVM shim and judged by
Linux's own filter code against what the policy means for every named
event of perf's tables, read here on their own; explain, given the
captured filter, names the policy's events back."""

import glob
import json
import os
import struct
import subprocess
import sys
import unittest

import kernel_filter
from qemu_run import TOP, Run, kvm_has_masked_events, skip_without_kvm
from test_pmu_filter import expected_bytes, filter_args

TOOL = os.path.join(TOP, "pmu-policy", "pmu-policy")
sys.path.insert(0, os.path.dirname(TOOL))
from pmupolicy import tables  # noqa: E402  (only to find perf's tables)

TABLES = os.environ.get("PMU_POLICY_TABLES") or tables.default_tables()
MODELS = {"skylakex": "intel", "icelakex": "intel",
          "sapphirerapids": "intel", "amdzen4": "amd"}
ARCHITECTURAL = {"intel": {(0x3c, 0), (0xc0, 0), (0x3c, 1), (0xc4, 0),
                           (0xc5, 0)},
                 "amd": {(0x76, 0), (0xc0, 0), (0xc2, 0), (0xc3, 0)}}
DENIED_TOPICS = ("cache.json", "memory.json")
OFFCORE_MSRS = ("0x1a6", "0x1A6")


class NamedEvent:
    """A core event as perf's JSON has it, read without the tool"""

    def __init__(self, entry, table):
        self.name = entry["EventName"]
        self.table = table
        counter = entry.get("Counter", "")
        self.fixed = None
        self.encodings = []
        if counter.startswith("Fixed counter") and "EventCode" not in entry:
            self.fixed = int(counter.split()[-1])
        else:
            umask = int(entry.get("UMask", "0"), 16)
            self.encodings = [(int(code, 16), umask) for code in
                              entry.get("EventCode", "0").split(",")]
        self.offcore = entry.get("MSRIndex", "").startswith(OFFCORE_MSRS)
        self.deprecated = entry.get("Deprecated") == "1"


def named_events(model):
    events = {}
    for path in sorted(glob.glob(os.path.join(TABLES, model, "*.json"))):
        with open(path) as f:
            entries = json.load(f)
        for entry in entries if isinstance(entries, list) else []:
            if "EventName" in entry and "Unit" not in entry:
                ev = NamedEvent(entry, os.path.basename(path))
                events.setdefault(ev.name, ev)
    return events


def architectural(events, vendor):
    """What allow architectural means: (countable encodings, countable
    fixed counters)"""
    return ARCHITECTURAL[vendor], {0, 1, 2} if vendor == "intel" else set()


def no_llc_memory_offcore(events, vendor):
    """What deny cache memory offcore means: every encoding of an event of
    perf's cache or memory tables or of an offcore response event is
    denied, everything else countable"""
    denied = {enc for ev in events.values()
              if ev.table in DENIED_TOPICS or ev.offcore
              for enc in ev.encodings}
    every = {enc for ev in events.values() for enc in ev.encodings}
    return every - denied, set(range(8))


POLICIES = {"architectural": (["allow", "architectural"], architectural),
            "deny LLC, memory, offcore": (["deny", "cache", "memory",
                                           "offcore"],
                                          no_llc_memory_offcore)}


def tool(command, *args, stdin=None):
    return subprocess.run([TOOL, command, "--tables", TABLES] + list(args),
                          input=stdin, capture_output=True, text=True)


def resolve(model, words, fmt):
    run = tool("resolve", "-m", model, "-f", fmt, *words)
    if run.returncode:
        raise AssertionError(run.stderr)
    return run.stdout


def object_from_payload(payload):
    """The kvm-pmu-filter object that QEMU would encode as @payload"""
    action, n, bitmap, flags = struct.unpack_from("<4I", payload)
    codes = struct.unpack_from("<%dQ" % n, payload, 32)
    obj = {"action": ["allow", "deny"][action],
           "x86-fixed-counter": {"bitmap": hex(bitmap)}, "events": []}
    for c in codes:
        select = (c & 0xff) | (c >> 32 & 0xf) << 8
        if flags & 1:
            ev = {"format": "x86-masked-entry", "select": hex(select),
                  "mask": hex(c >> 56), "match": hex(c >> 8 & 0xff),
                  "exclude": bool(c >> 55 & 1)}
        else:
            ev = {"format": "x86-default", "select": hex(select),
                  "umask": hex(c >> 8 & 0xff)}
        obj["events"].append(ev)
    if not bitmap:
        del obj["x86-fixed-counter"]
    return obj


class Verdict:
    def __init__(self):
        self.queries = self.mismatches = 0
        self.allowed, self.denied, self.errors = set(), set(), []


def judge_named(payload, vendor, events, countable, fixed_ok):
    """Ask the kernel's code about every named event of @events"""
    k = kernel_filter.kernel(vendor)
    assert k.set_filter(payload) == 0
    answers = {}
    v = Verdict()
    for ev in events.values():
        if ev.fixed is not None:
            got = [k.fixed(ev.fixed)]
            want = [ev.fixed in fixed_ok]
        else:
            for select, _ in ev.encodings:
                if select not in answers:
                    answers[select] = k.gp(select)
            got = [answers[s][u] == "1" for s, u in ev.encodings]
            want = [enc in countable for enc in ev.encodings]
        v.queries += len(got)
        if got != want:
            v.mismatches += 1
            v.errors.append("%s: the kernel says %s, the policy %s"
                            % (ev.name, got, want))
        (v.allowed if all(got) else v.denied).add(ev.name)
    return v


@unittest.skipIf(not TABLES, "perf's event tables are missing (make check "
                 "unpacks them with harness/fetch-linux.sh)")
@unittest.skipIf(kernel_filter.unavailable(), kernel_filter.unavailable())
class Judged(unittest.TestCase):
    """Each model and policy: the filter that QEMU installs for the tool's
    object (QEMU's encoding as test_pmu_filter writes it; Installed
    checks that QEMU hands exactly these bytes to KVM) judged by the
    kernel's code for every named event"""

    def payload(self, obj, vendor):
        return expected_bytes(obj)

    def explain(self, model, text, *options):
        run = tool("explain", "-m", model, *options, "-", stdin=text)
        self.assertEqual(run.returncode, 0, run.stderr)
        return run.stdout

    def check_explain(self, model, events, payload, verdict, words):
        """explain reads the captured filter as the kernel decided, and
        its text names the events of the policy's side"""
        captured = json.dumps(object_from_payload(payload))
        said = json.loads(self.explain(model, captured, "--json"))
        never = set(said["never"])
        self.assertEqual(set(said["allowed"]), verdict.allowed - never)
        self.assertEqual(set(said["denied"]), verdict.denied - never)
        self.assertEqual(said["partly"], [])
        text = self.explain(model, captured)
        side = verdict.allowed if words[0] == "allow" else verdict.denied
        for name in side - never:
            if not events[name].deprecated:
                self.assertIn(name, text)
        return said

    def check_policy(self, model, label):
        vendor = MODELS[model]
        words, meaning = POLICIES[label]
        events = named_events(model)
        countable, fixed_ok = meaning(events, vendor)
        obj = json.loads(resolve(model, words, "json"))
        payload = self.payload(obj, vendor)
        verdict = judge_named(payload, vendor, events, countable, fixed_ok)
        print("\n%s %s, %s: %d named events (%d allowed, %d denied), "
              "%d kernel queries, %d mismatches"
              % (self.PREFIX, model, label, len(events),
                 len(verdict.allowed), len(verdict.denied), verdict.queries,
                 verdict.mismatches))
        self.assertEqual(verdict.errors, [])
        said = self.check_explain(model, events, payload, verdict, words)
        xml = resolve(model, words, "xml")
        self.assertEqual(json.loads(self.explain(model, xml, "--json")), said)

    PREFIX = "pmu-policy judged"

    def test_skylakex(self):
        for label in POLICIES:
            self.check_policy("skylakex", label)

    def test_icelakex(self):
        for label in POLICIES:
            self.check_policy("icelakex", label)

    def test_sapphirerapids(self):
        for label in POLICIES:
            self.check_policy("sapphirerapids", label)

    def test_amdzen4(self):
        for label in POLICIES:
            self.check_policy("amdzen4", label)


@skip_without_kvm
class Installed(Judged):
    """The same, with the bytes that our QEMU hands to KVM, captured by
    the shim; for AMD the shim answers as kvm_amd (12 select bits)"""

    PREFIX = "pmu-policy installed by QEMU"

    def payload(self, obj, vendor):
        if any(e["format"] == "x86-masked-entry" for e in obj["events"]) \
                and not kvm_has_masked_events():
            self.skipTest("this host's KVM has no masked entries")
        env = {"KVM_SHIM_SELECT_BITS": "12"} if vendor == "amd" else None
        with Run(filter_args(obj) + ["-S"], env=env) as run:
            run.connect()
            run.stop()
            self.assertEqual(run.proc.returncode, 0, run.stderr)
            filters = run.filters()
        self.assertEqual(filters, [expected_bytes(obj)])
        return filters[0]


if __name__ == "__main__":
    unittest.main(verbosity=2)
