# SPDX-License-Identifier: GPL-2.0-or-later
"""Judge CPUID leaf 0xA as a guest is told it, by Linux's own code.

build/kernel-filter/perf-arch-events.json says how Linux's perf in a
guest reads the leaf (harness/perf-arch-events.py takes it from
Debian's linux source at test time): it offers the generic event of
each EBX bit that is clear, with its encoding, and drops the others.
judge() asks the kernel's filter code (kernel_filter) about each of
those events and each fixed counter the leaf offers: every event perf
would still offer must be one the filter lets count, every event it
drops one the filter denies, every fixed counter offered one the filter
lets count, and the leaf must offer as many fixed counters, from 0 up,
as the filter and KVM's leaf allow.

pmu_leaf() is QEMU's own computation, build/e2e/pmu-leaf, linked from
the patched build (e2e/pmu-leaf.c).
"""

import json
import os
import subprocess

import kernel_filter

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PERF_EVENTS = os.environ.get(
    "PERF_ARCH_EVENTS",
    os.path.join(TOP, "build/kernel-filter/perf-arch-events.json"))
PMU_LEAF = os.environ.get("PMU_LEAF",
                          os.path.join(TOP, "build/e2e/pmu-leaf"))

# CPUID leaf 0xA of a host whose KVM gives guests an Intel PMU:
# version 2, 8 counters of 48 bits, 7 architectural events (EAX), none
# unavailable (EBX), no fixed-counter bitmap (ECX), 3 fixed counters
# of 48 bits (EDX)
VPMU_LEAF = (0x07300802, 0, 0, 0x603)

stats = {"leaves": 0, "events": 0, "fixed": 0, "mismatches": 0}


class Mismatch(AssertionError):
    pass


def unavailable():
    """Why leaves cannot be judged here, or None."""
    why = kernel_filter.unavailable()
    if why:
        return why
    for path in (PERF_EVENTS, PMU_LEAF):
        if not os.path.exists(path):
            return "%s is missing (make check builds it)" % path
    return None


def perf_table():
    with open(PERF_EVENTS) as f:
        return json.load(f)


_qemu = None


def pmu_leaf(kvm_leaf, payload):
    """The leaf QEMU gives vCPUs for the filter @payload where KVM
    reports @kvm_leaf, computed by QEMU's own code."""
    global _qemu
    if _qemu is None:
        _qemu = subprocess.Popen([PMU_LEAF], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
    _qemu.stdin.write("%s %s\n" % (",".join("%x" % r for r in kvm_leaf),
                                   payload.hex()))
    _qemu.stdin.flush()
    answer = _qemu.stdout.readline().split()
    if len(answer) != 4:
        raise AssertionError("pmu-leaf cannot read the filter %s"
                             % payload.hex())
    return tuple(int(reg, 16) for reg in answer)


def offered_fixed(leaf):
    eax, _, ecx, edx = leaf
    if eax & 0xff < 2:
        return set()
    return set(range(edx & 0x1f)) | {i for i in range(32) if ecx >> i & 1}


def judge(payload, kvm_leaf, guest_leaf, what):
    """Raise Mismatch, naming the event, unless @guest_leaf tells a
    guest's perf exactly what the filter @payload lets count, where
    KVM reports @kvm_leaf."""
    stats["leaves"] += 1
    try:
        _judge(payload, kvm_leaf, guest_leaf, what)
    except Mismatch:
        stats["mismatches"] += 1
        raise


def _judge(payload, kvm_leaf, guest_leaf, what):
    k = kernel_filter.kernel("intel")
    if k.set_filter(payload):
        raise Mismatch("%s: the kernel's code refuses the filter" % what)
    table = perf_table()
    eax, ebx = guest_leaf[0], guest_leaf[1]
    if eax != kvm_leaf[0] or eax >> 24 < table["min_events"]:
        raise Mismatch("%s: EAX 0x%x, KVM's 0x%x: perf needs %d events"
                       % (what, eax, kvm_leaf[0], table["min_events"]))
    for ev in table["events"]:
        stats["events"] += 1
        offered = not ebx >> ev["bit"] & 1
        allowed = k.gp(ev["select"])[ev["umask"]] == "1"
        if offered != allowed:
            raise Mismatch("%s: perf %s %s (0x%02x/0x%02x), the kernel's "
                           "filter %s it" % (what, "offers" if offered
                                             else "drops", ev["name"],
                                             ev["select"], ev["umask"],
                                             "counts" if allowed
                                             else "blocks"))
    offered = offered_fixed(guest_leaf)
    for index in sorted(offered):
        stats["fixed"] += 1
        if not k.fixed(index):
            raise Mismatch("%s: fixed counter %d is offered, the kernel's "
                           "filter blocks it" % (what, index))
    count = guest_leaf[3] & 0x1f
    if (offered - offered_fixed(kvm_leaf) or
            (count in offered_fixed(kvm_leaf) and k.fixed(count))):
        raise Mismatch("%s: fixed counters %s offered of KVM's %s"
                       % (what, sorted(offered),
                          sorted(offered_fixed(kvm_leaf))))


def summary():
    table = perf_table() if os.path.exists(PERF_EVENTS) else {}
    return ("guest view (perf of Linux %s): %d leaves, %d events, %d fixed "
            "counters judged, %d mismatches"
            % (table.get("linux", "?"), stats["leaves"], stats["events"],
               stats["fixed"], stats["mismatches"]))
