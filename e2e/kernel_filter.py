# SPDX-License-Identifier: GPL-2.0-or-later
"""Judge the filters QEMU installs by Linux's own filter code.

build/kernel-filter/kernel-filter runs the functions of arch/x86/kvm/pmu.c
that check a KVM_SET_PMU_EVENT_FILTER argument and decide whether a
counter may count an event (harness/kernel-filter.py takes them from
Debian's linux source at test time).  For every payload that a test
captured from QEMU, and whose filter object it knows, check() asks that
code about the filter's events, their neighbours (select -1 and +1, the
same low byte with every other high nibble) with all 256 unit masks,
and every fixed counter, and compares each answer with what the
object's documented meaning says; it also compares the kernel code's
return code with the one the running kernel gave for the same bytes.
"""

import os
import struct
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORACLE = os.environ.get("KERNEL_FILTER",
                        os.path.join(TOP, "build/kernel-filter/kernel-filter"))
SELECT_BITS = {"intel": 8, "amd": 12}
FIXED_COUNTERS = 32

# payload bytes -> the filter object it encodes, from expected_bytes()
_objects = {}
stats = {"payloads": 0, "queries": 0, "mismatches": 0}


class Mismatch(AssertionError):
    pass


def register(payload, obj):
    _objects.setdefault(payload, obj)


def unavailable():
    """Why the kernel's code cannot judge here, or None."""
    if os.environ.get("KERNEL_FILTER") == "none":
        return "KERNEL_FILTER=none"
    if not os.access(ORACLE, os.X_OK):
        return "%s is missing (make check builds it)" % ORACLE
    return None


class Kernel:
    """One run of the kernel's filter code, for one vendor module."""

    def __init__(self, vendor):
        self.vendor = vendor
        self.proc = subprocess.Popen([ORACLE], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.ask("vendor " + vendor) == "ok"

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def set_filter(self, payload):
        self.ask("reset")
        return int(self.ask("filter " + payload.hex()))

    def gp(self, select):
        stats["queries"] += 256
        return self.ask("gp %#x" % select)

    def fixed(self, index):
        stats["queries"] += 1
        return self.ask("fixed %d" % index) == "1"


_kernels = {}


def kernel(vendor):
    if vendor not in _kernels:
        _kernels[vendor] = Kernel(vendor)
    return _kernels[vendor]


def num(s):
    return int(s, 16) if s.lower().startswith("0x") else int(s, 10)


def entries(obj):
    """(select, mask, match, exclude) for each event of @obj, as its
    documentation defines them; plain events compare every umask bit."""
    out = []
    for ev in obj.get("events", []):
        if ev["format"] == "raw":
            code = num(ev["code"])
            out.append(((code & 0xff) | ((code >> 32) & 0xf) << 8, 0xff,
                        (code >> 8) & 0xff, False))
        elif ev["format"] == "x86-default":
            out.append((num(ev["select"]), 0xff, num(ev["umask"]), False))
        else:
            out.append((num(ev["select"]), num(ev["mask"]),
                        num(ev["match"]), bool(ev.get("exclude", False))))
    return out


def documented_gp(obj, select):
    """256 of 0 or 1: whether the guest may count @select with each umask,
    by the documented meaning of @obj: an event is listed when an entry
    without exclude matches it and no entry with exclude does; allow lets
    only the listed events count, deny all but them."""
    mine = [e for e in entries(obj) if e[0] == select]
    allow = obj["action"] == "allow"
    answer = []
    for umask in range(256):
        matches = [e for e in mine if umask & e[1] == e[2]]
        listed = (any(not e[3] for e in matches) and
                  not any(e[3] for e in matches))
        answer.append("1" if listed == allow else "0")
    return "".join(answer)


def documented_fixed(obj, index):
    bitmap = num(obj.get("x86-fixed-counter", {}).get("bitmap", "0"))
    return bool(bitmap >> index & 1) == (obj["action"] == "allow")


def selects_to_ask(obj, bits):
    """The filter's selects and their neighbours, within @bits."""
    out = set()
    for select, *_ in entries(obj):
        out |= {select - 1, select, select + 1}
        out |= {(select & 0xff) | high << 8 for high in range(16)}
    return sorted(s for s in out if 0 <= s < 1 << bits)


def judge(payload, obj, vendor):
    """Compare the kernel's decisions for @payload, under @vendor's
    module, with @obj's documented meaning; raise Mismatch on the first
    difference, naming the event and both answers."""
    k = kernel(vendor)
    ret = k.set_filter(payload)
    if ret:
        raise Mismatch("%s: the kernel's code refuses the filter of %r: %d"
                       % (vendor, obj.get("id"), ret))
    for select in selects_to_ask(obj, SELECT_BITS[vendor]):
        got, want = k.gp(select), documented_gp(obj, select)
        if got != want:
            umask = next(u for u in range(256) if got[u] != want[u])
            raise Mismatch("%s: event select %#x umask %#04x: the kernel "
                           "says %s, the documentation %s (filter %r)"
                           % (vendor, select, umask,
                              "counts" if got[umask] == "1" else "blocked",
                              "counts" if want[umask] == "1" else "blocked",
                              obj.get("id")))
    if vendor == "intel":
        for index in range(FIXED_COUNTERS):
            got, want = k.fixed(index), documented_fixed(obj, index)
            if got != want:
                raise Mismatch("intel: fixed counter %d: the kernel says "
                               "%s, the documentation %s (filter %r)"
                               % (index, got, want, obj.get("id")))


def fits(obj, vendor):
    return all(e[0] >> SELECT_BITS[vendor] == 0 for e in entries(obj))


def check(payload, real_ret, host_vendor):
    """Judge one payload QEMU handed to the running kernel, which
    answered @real_ret (None if the test made the call fail): the kernel
    code of @host_vendor's module must answer the same, and each vendor
    module whose selects the filter fits must give the filter its
    documented meaning."""
    stats["payloads"] += 1
    if real_ret is not None:
        ret = kernel(host_vendor).set_filter(payload)
        if ret != real_ret:
            stats["mismatches"] += 1
            raise Mismatch("%s: the kernel's code returns %d for a filter "
                           "the running kernel returned %d for"
                           % (host_vendor, ret, real_ret))
    obj = _objects.get(payload)
    if obj is None:
        return
    for vendor in SELECT_BITS:
        if fits(obj, vendor):
            try:
                judge(payload, obj, vendor)
            except Mismatch:
                stats["mismatches"] += 1
                raise


def summary():
    version = "?"
    try:
        with open(ORACLE + ".c") as f:
            version = f.readline().split("Linux ")[1].split(" ")[0]
    except (OSError, IndexError):
        pass
    return ("kernel filter code of Linux %s: %d payloads, %d queries, "
            "%d mismatches" % (version, stats["payloads"], stats["queries"],
                               stats["mismatches"]))


def select_probe_object():
    """The select-width probe, as the filter object it would be."""
    return {"id": "probe", "action": "deny",
            "events": [{"format": "x86-masked-entry", "select": "0x1c4",
                        "mask": "0xff", "match": "0", "exclude": True}]}


def probe_bytes():
    return struct.pack("<8IQ", 1, 1, 0, 1, 0, 0, 0, 0, 0xff800001000000c4)


register(probe_bytes(), select_probe_object())
