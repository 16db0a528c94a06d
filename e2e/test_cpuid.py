# SPDX-License-Identifier: GPL-2.0-or-later
"""CPUID leaf 0xA tells the guest what the filter denies (set
5-x86-cpuid), judged by Linux's own code: the kernel's filter code
says what the filter lets count, perf's tables what the guest's perf
makes of the leaf (guest_view).

Without a host whose KVM gives guests an Intel PMU, the tests that
start QEMU run it under the shim, which answers CPUID leaf 0xA as such
a host's KVM would (guest_view.VPMU_LEAF) and records the leaf QEMU
gives each vCPU; the demo guest prints the leaf it reads."""

import json
import os
import random
import re
import subprocess
import tempfile
import time
import unittest

import guest_view
import kernel_filter
from guest_view import VPMU_LEAF, Mismatch, judge, pmu_leaf
from qemu_run import (BASE_ARGS, QEMU, SHIM, X86_FAKE_KVM, Run,
                      skip_without_kvm, x86_fake_kvm_unusable)
from test_pmu_filter import (EXAMPLE_MASKED, EXAMPLE_RAW, GUEST, GUEST_DONE,
                             HOST_CPU, expected_bytes, filter_args)


def filter_object(action, events, bitmap=None, fid="f0"):
    obj = {"qom-type": "kvm-pmu-filter", "id": fid, "action": action,
           "events": events}
    if bitmap is not None:
        obj["x86-fixed-counter"] = {"bitmap": hex(bitmap)}
    return obj


def default(select, umask):
    return {"format": "x86-default", "select": hex(select),
            "umask": hex(umask)}


def masked(select, mask, match, exclude=False):
    return {"format": "x86-masked-entry", "select": hex(select),
            "mask": hex(mask), "match": hex(match), "exclude": exclude}


# The two filters: the architectural events that count time
# and instructions, with their fixed counters; and LLC events denied
ARCH_ALLOW = filter_object("allow", [default(0x3c, 0x00), default(0xc0, 0x00),
                                     default(0x3c, 0x01)], bitmap=0x7)
LLC_DENY = filter_object("deny", [masked(0x2e, 0x00, 0x00)])
LLC_BUT_MISSES = filter_object("deny", [masked(0x2e, 0x00, 0x00),
                                        masked(0x2e, 0xff, 0x41, True)])

# (filter, the leaf a vCPU gets where KVM reports VPMU_LEAF)
EXAMPLES = [
    ("architectural allow-list", ARCH_ALLOW, (0x07300802, 0x78, 0, 0x603)),
    ("LLC deny-list", LLC_DENY, (0x07300802, 0x18, 0, 0x603)),
    ("LLC deny-list but misses", LLC_BUT_MISSES,
     (0x07300802, 0x08, 0, 0x603)),
    ("cover letter: allow raw 0xc4", EXAMPLE_RAW,
     (0x07300802, 0x5f, 0, 0x600)),
    ("cover letter: allow-list of excludes", EXAMPLE_MASKED,
     (0x07300802, 0x7f, 0, 0x600)),
]


def migration_end(qmp, deadline):
    """query-migrate's answer once the migration has completed or failed,
    or at @deadline"""
    while True:
        info = qmp.cmd("query-migrate")["return"]
        if (info.get("status") in ("completed", "failed") or
                time.time() > deadline):
            return info
        time.sleep(0.05)


def leaf_str(leaf):
    return "EAX 0x%08x EBX 0x%02x ECX 0x%x EDX 0x%03x" % leaf


def random_filter(rng):
    """A filter of events around the architectural ones"""
    selects = [0x3c, 0xc0, 0x2e, 0xc4, 0xc5, 0xa4, rng.randrange(0x100)]
    umasks = [0x00, 0x01, 0x4f, 0x41, rng.randrange(0x100)]
    fmt = rng.choice(["raw", "x86-default", "x86-masked-entry"])
    events = []
    for _ in range(rng.randrange(6)):
        select, umask = rng.choice(selects), rng.choice(umasks)
        if fmt == "raw":
            events.append({"format": "raw", "code": hex(select | umask << 8)})
        elif fmt == "x86-default":
            events.append(default(select, umask))
        else:
            events.append(masked(select, rng.choice([0, 0xff, 0xf0, 0x0f,
                                                     rng.randrange(0x100)]),
                                 umask & rng.randrange(0x100),
                                 rng.random() < 0.3))
    return filter_object(rng.choice(["allow", "deny"]), events,
                         bitmap=rng.randrange(16))


@unittest.skipIf(guest_view.unavailable(), guest_view.unavailable())
class QemuComputation(unittest.TestCase):
    """QEMU's computation of the leaf (pmu-leaf), on any host"""

    def check(self, what, obj, kvm_leaf=VPMU_LEAF):
        payload = expected_bytes(obj)
        leaf = pmu_leaf(kvm_leaf, payload)
        judge(payload, kvm_leaf, leaf, what)
        return leaf

    def test_examples(self):
        for what, obj, want in EXAMPLES:
            leaf = self.check(what, obj)
            print("\n%-40s %s" % (what + ":", leaf_str(leaf)), end="")
            self.assertEqual(leaf, want, what)

    def test_each_architectural_event(self):
        for ev in guest_view.perf_table()["events"]:
            s, u = ev["select"], ev["umask"]
            for action in ("allow", "deny"):
                for events in ([{"format": "raw", "code": hex(s | u << 8)}],
                               [default(s, u)], [masked(s, 0xff, u)],
                               [masked(s, 0, 0)],
                               [masked(s, 0, 0), masked(s, 0xff, u, True)]):
                    self.check("%s %s" % (action, events),
                               filter_object(action, events))

    def test_fixed_counters(self):
        v5 = (0x07300805, 0, 0x2f, 0x604)
        for action in ("allow", "deny"):
            for bitmap in range(64):
                for kvm_leaf in (VPMU_LEAF, v5):
                    self.check("%s fixed 0x%x" % (action, bitmap),
                               filter_object(action, [], bitmap=bitmap),
                               kvm_leaf)

    def test_random_filters(self):
        rng = random.Random(20261207)
        for i in range(1000):
            obj = random_filter(rng)
            self.check("random filter %d %s" % (i, json.dumps(obj)), obj)

    def test_wrong_leaves_caught(self):
        """The judge catches a leaf that differs in one thing"""
        payload = expected_bytes(LLC_DENY)
        right = (0x07300802, 0x18, 0, 0x603)
        judge(payload, VPMU_LEAF, right, "right")
        for wrong, message in [
                ((0x07300802, 0x08, 0, 0x603), "perf offers cache misses"),
                ((0x07300802, 0x38, 0, 0x603), "perf drops branch instr"),
                ((0x07300802, 0x18, 0, 0x602), "fixed counters [0, 1]"),
                ((0x06300802, 0x18, 0, 0x603), "perf needs 7 events")]:
            with self.assertRaises(Mismatch) as caught:
                judge(payload, VPMU_LEAF, wrong, "wrong")
            self.assertIn(message, str(caught.exception))
        guest_view.stats["mismatches"] -= 4
        payload = expected_bytes(filter_object("deny", [], bitmap=0x2))
        with self.assertRaises(Mismatch) as caught:
            judge(payload, VPMU_LEAF, VPMU_LEAF, "fixed")
        self.assertIn("fixed counter 1 is offered", str(caught.exception))
        guest_view.stats["mismatches"] -= 1


def shim_leaves(log):
    """The leaf 0xA of each KVM_SET_CPUID2 that the shim recorded"""
    leaves = []
    with open(log) as f:
        for words in (line.split() for line in f):
            if words[0] == "cpuid-0xa":
                raw = bytes.fromhex(words[1])
                leaves.append(tuple(int.from_bytes(raw[i:i + 4], "little")
                                    for i in range(0, 16, 4)))
    return leaves


GUEST_LEAF = re.compile(r"^cpuid 0xa: eax=(0x\w+) ebx=(0x\w+) ecx=(0x\w+) "
                        r"edx=(0x\w+)$", re.M)
VPMU_ENV = {"KVM_SHIM_PMU_LEAF": ",".join("%x" % r for r in VPMU_LEAF)}
CPU = ["-cpu", HOST_CPU + ",pmu=on"]


@skip_without_kvm(guest=True)
@unittest.skipIf(guest_view.unavailable(), guest_view.unavailable())
@unittest.skipUnless(SHIM, "KVM_SHIM= runs QEMU without the shim")
class GuestLeaf(unittest.TestCase):
    """The demo guest reads the leaf QEMU computed, on real KVM"""

    def boot(self, accel_args, smp=2):
        """Boot the demo guest; return the leaf it printed and those the
        shim recorded, one per vCPU"""
        with tempfile.TemporaryDirectory(prefix="kpf-cpuid-") as tmp:
            log = os.path.join(tmp, "shim.log")
            env = dict(os.environ, LD_PRELOAD=SHIM, KVM_SHIM_LOG=log,
                       **VPMU_ENV)
            proc = subprocess.run(
                [QEMU, "-M", "pc", "-m", "64", "-display", "none",
                 "-nodefaults", "-smp", str(smp), "-serial", "stdio",
                 "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                 "-kernel", GUEST] + CPU + accel_args,
                env=env, capture_output=True, text=True, timeout=60)
            self.assertEqual(proc.returncode, GUEST_DONE, proc.stderr)
            match = GUEST_LEAF.search(proc.stdout.replace("\r", ""))
            self.assertTrue(match, proc.stdout)
            guest = tuple(int(reg, 16) for reg in match.groups())
            return guest, shim_leaves(log), proc.stderr

    def test_filters(self):
        for what, obj, want in EXAMPLES:
            guest, vcpus, _ = self.boot(filter_args(obj))
            print("\n%-40s guest read %s" % (what + ":", leaf_str(guest)),
                  end="")
            self.assertEqual(guest, want, what)
            self.assertEqual(vcpus, [want, want], what)
            judge(expected_bytes(obj), VPMU_LEAF, guest, what)

    def test_as_kvm_reports(self):
        accel = filter_args(LLC_DENY)
        accel[1] += ",pmu-filter-cpuid=off"
        for args in (accel, ["-accel", "kvm"]):
            guest, vcpus, _ = self.boot(args)
            self.assertEqual(guest, VPMU_LEAF, args)
            self.assertEqual(vcpus, [VPMU_LEAF, VPMU_LEAF], args)

    def test_hidden_fixed_counter_warned(self):
        obj = filter_object("allow", [default(0xc0, 0)], bitmap=0x5)
        guest, _, stderr = self.boot(filter_args(obj), smp=1)
        self.assertEqual(guest[3] & 0x1f, 1)
        self.assertIn("PMU event filter 'f0' denies fixed counter 1, so "
                      "CPUID cannot tell the guest of the ones above it "
                      "that the filter allows (bitmap 0x4)", stderr)


def fake_unusable():
    return x86_fake_kvm_unusable() or guest_view.unavailable()


class FakeRun(Run):
    """QEMU on e2e/x86-fake-kvm.c, which answers as a KVM that gives
    guests an Intel PMU (VPMU_LEAF) and refuses filters as kvm_intel"""

    def shim_env(self):
        return {"LD_PRELOAD": X86_FAKE_KVM, "FAKE_KVM_LOG": self.log,
                "FAKE_KVM_PMU_LEAF": VPMU_ENV["KVM_SHIM_PMU_LEAF"]}

    def judge_filters(self):
        for payload, ret in sorted(set(self.filter_results()), key=repr):
            kernel_filter.check(payload, ret, "intel")

    def leaves(self):
        """The leaf 0xA of each vCPU, as QEMU gave it"""
        return [tuple(int.from_bytes(data[i:i + 4], "little")
                      for i in range(0, 16, 4))
                for kind, data in self.records() if kind == "cpuid-0xa"]

    def pmu_warnings(self):
        return [line for line in self.warnings()
                if "CPUID" in line or "PMU" in line]


@unittest.skipIf(fake_unusable(), fake_unusable())
class OnFakeKvm(unittest.TestCase):
    """The leaf each vCPU gets from QEMU, on a stand-in for KVM, which
    this host need not have: at start, for vCPUs plugged in later,
    across a switch and across a migration"""

    def start(self, args, env=None):
        run = FakeRun(CPU + ["-S"] + args, env=env)
        self.addCleanup(run.__exit__, None, None, None)
        return run, run.connect()

    def leaves_of(self, args, env=None):
        run, _ = self.start(args, env)
        run.stop()
        return run.leaves(), run

    def test_leaf_per_filter(self):
        for what, obj, want in EXAMPLES:
            leaves, _ = self.leaves_of(filter_args(obj) + ["-smp", "2"])
            print("\n%-40s vCPUs got %s" % (what + ":", leaf_str(want)),
                  end="")
            self.assertEqual(leaves, [want, want], what)
            judge(expected_bytes(obj), VPMU_LEAF, leaves[0], what)

    def test_as_kvm_reports(self):
        off = filter_args(LLC_DENY)
        off[1] += ",pmu-filter-cpuid=off"
        for args in (off, ["-accel", "kvm"]):
            leaves, _ = self.leaves_of(args)
            self.assertEqual(leaves, [VPMU_LEAF], args)

    def test_no_architectural_pmu(self):
        """As on AMD hosts, and with pmu=off: nothing to hide"""
        zero = (0, 0, 0, 0)
        leaves, _ = self.leaves_of(filter_args(LLC_DENY),
                                   env={"FAKE_KVM_PMU_LEAF": "0,0,0,0"})
        self.assertEqual(leaves, [zero])
        run, _ = self.start(["-cpu", HOST_CPU + ",pmu=off"] +
                            filter_args(LLC_DENY))
        run.stop()
        self.assertEqual(run.leaves(), [zero])

    def test_hidden_fixed_counter_warned(self):
        obj = filter_object("allow", [default(0xc0, 0)], bitmap=0x5)
        leaves, run = self.leaves_of(filter_args(obj))
        self.assertEqual(leaves[0][3] & 0x1f, 1)
        self.assertEqual(run.pmu_warnings(), [
            "qemu-system-x86_64: warning: PMU event filter 'f0' denies "
            "fixed counter 1, so CPUID cannot tell the guest of the ones "
            "above it that the filter allows (bitmap 0x4)"])

    def test_switch_keeps_leaf(self):
        run, qmp = self.start(filter_args(LLC_DENY) +
                              ["-smp", "1,maxcpus=2,sockets=2"])
        self.assertIn("return", qmp.cmd("cont"))
        self.assertTrue(run.wait_for_guest(), "the vCPU never ran")
        same = dict(LLC_DENY, id="f1",
                    events=LLC_DENY["events"] + [masked(0x2e, 0xff, 0x42)])
        other = dict(ARCH_ALLOW, id="f2")
        for obj in (same, other):
            self.assertIn("return", qmp.cmd("object-add", **obj))
            self.assertEqual(qmp.cmd("set-kvm-pmu-filter", id=obj["id"]),
                             {"return": {}})
        self.assertIn("return", qmp.cmd(
            "device_add", driver="host-x86_64-cpu", id="cpu1",
            **{"socket-id": 1, "core-id": 0, "thread-id": 0}))
        run.stop()
        # warned by the monitor command, without the program's name
        self.assertEqual(run.pmu_warnings(), [
            "warning: vCPUs keep CPUID leaf 0xA as they "
            "started with (EBX 0x18, ECX 0x0, EDX 0x603); PMU event filter "
            "'f2' would give them EBX 0x78, ECX 0x0, EDX 0x603"],
            run.stderr)
        llc = (0x07300802, 0x18, 0, 0x603)
        self.assertEqual(run.leaves(), [llc, llc])

    def migrate(self, source_args, dest_args, switch_to=None):
        """Migrate from a VM with @source_args to one with @dest_args,
        optionally after a switch; return (status, source, destination)"""
        sock = os.path.join(tempfile.mkdtemp(prefix="kpf-mig-"), "mig")
        dest, dqmp = self.start(dest_args + ["-incoming", "defer"])
        self.assertIn("return", dqmp.cmd("migrate-incoming",
                                         uri="unix:" + sock,
                                         **{"exit-on-error": False}))
        source, sqmp = self.start(source_args)
        if switch_to:
            self.assertIn("return", sqmp.cmd("object-add", **switch_to))
            self.assertEqual(sqmp.cmd("set-kvm-pmu-filter",
                                      id=switch_to["id"]), {"return": {}})
        self.assertIn("return", sqmp.cmd("migrate", uri="unix:" + sock))
        deadline = time.time() + 30
        status = migration_end(sqmp, deadline)["status"]
        info = migration_end(dqmp, deadline)
        if info.get("status") == "failed":
            status = "failed"
        self.dest_error = info.get("error-desc", "")
        source.stop()
        dest.stop()
        return status, source, dest

    def assert_refused(self, status, dest, message):
        """The destination refused, with @message in its one error"""
        self.assertEqual(status, "failed")
        self.assertTrue(message in self.dest_error or
                        any(message in line for line in dest.error_lines()),
                        (self.dest_error, dest.stderr))

    def test_migration_same_leaf(self):
        status, source, dest = self.migrate(
            filter_args(LLC_DENY), filter_args(dict(LLC_DENY, id="f1"),
                                               fid="f1"))
        self.assertEqual(status, "completed", source.stderr)
        llc = (0x07300802, 0x18, 0, 0x603)
        self.assertEqual(source.leaves(), [llc])
        self.assertEqual(dest.leaves(), [llc])

    def test_migration_hotplugged_vcpus(self):
        """Each vCPU's state carries its leaf, in whatever order vCPUs
        were plugged in on either side"""
        smp = ["-smp", "1,maxcpus=3,sockets=3"]

        def cpu(socket):
            return "host-x86_64-cpu,id=cpu%d,socket-id=%d,core-id=0," \
                   "thread-id=0" % (socket, socket)

        sock = os.path.join(tempfile.mkdtemp(prefix="kpf-mig-"), "mig")
        dest, dqmp = self.start(filter_args(LLC_DENY) + smp +
                                ["-device", cpu(1), "-device", cpu(2),
                                 "-incoming", "unix:" + sock])
        source, sqmp = self.start(filter_args(LLC_DENY) + smp)
        for socket in (2, 1):
            self.assertIn("return", sqmp.cmd(
                "device_add", driver="host-x86_64-cpu", id="cpu%d" % socket,
                **{"socket-id": socket, "core-id": 0, "thread-id": 0}))
        self.assertIn("return", sqmp.cmd("migrate", uri="unix:" + sock))
        self.assertEqual(migration_end(dqmp, time.time() + 30)["status"],
                         "completed", dest.stderr)
        source.stop()
        dest.stop()
        llc = (0x07300802, 0x18, 0, 0x603)
        self.assertEqual(dest.leaves(), [llc] * 3)

    def test_leaf_without_kvm_refused(self):
        """A stream whose vCPUs carry a leaf, loaded where QEMU does not
        use KVM (the filter's section taken out, as an attacker could),
        is refused, not taken to KVM state that does not exist"""
        path = os.path.join(tempfile.mkdtemp(prefix="kpf-stream-"), "mig")
        run, qmp = self.start(filter_args(LLC_DENY))
        self.assertIn("return", qmp.cmd("migrate", uri="file:" + path))
        self.assertEqual(migration_end(qmp, time.time() + 30)["status"],
                         "completed", run.stderr)
        run.stop()
        with open(path, "rb") as f:
            data = f.read()
        # section type, ID, name, instance, version; digest and ID;
        # footer and ID
        at = data.index(b"\x0ekvm-pmu-filter")
        end = at + 1 + 14 + 8 + 96
        self.assertEqual(data[end], 0x7e)
        with open(path, "wb") as f:
            f.write(data[:at - 5] + data[end + 5:])
        proc = subprocess.run([QEMU] + BASE_ARGS +
                              ["-accel", "qtest", "-incoming", "file:" + path],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("the migration source's vCPUs have a KVM PMU event "
                      "filter, this destination does not use KVM",
                      proc.stderr)

    def test_migration_after_switch_refused(self):
        """The guest would see its leaf change, its fixed counters too"""
        allow = dict(ARCH_ALLOW, id="f2", **{"x86-fixed-counter":
                                             {"bitmap": "0x1"}})
        status, source, dest = self.migrate(
            filter_args(LLC_DENY), filter_args(allow, fid="f2"),
            switch_to=allow)
        self.assert_refused(status, dest,
                            "CPUID leaf 0xA of the migration source's vCPUs "
                            "(EAX 0x7300802, EBX 0x18, ECX 0x0, EDX 0x603) "
                            "differs from this destination's (EAX 0x7300802, "
                            "EBX 0x78, ECX 0x0, EDX 0x601)")

    def test_migration_pmu_filter_cpuid_differs_refused(self):
        off = filter_args(LLC_DENY)
        off[1] += ",pmu-filter-cpuid=off"
        for source_args, dest_args in ((off, filter_args(LLC_DENY)),
                                       (filter_args(LLC_DENY), off)):
            status, _, dest = self.migrate(source_args, dest_args)
            self.assert_refused(status, dest, "CPUID leaf 0xA of the "
                                "migration source's vCPUs")

    def test_migration_without_filter_to_hiding_filter_refused(self):
        status, _, dest = self.migrate(["-accel", "kvm"],
                                       filter_args(LLC_DENY))
        self.assert_refused(status, dest,
                            "the migration source has no PMU event filter, "
                            "so its vCPUs have CPUID leaf 0xA as KVM reports "
                            "it, part of which the PMU event filter of this "
                            "VM hides")

    def test_migration_without_filter_to_unhiding_filter(self):
        off = filter_args(LLC_DENY)
        off[1] += ",pmu-filter-cpuid=off"
        for dest_args in (off, filter_args(EXAMPLE_OTHER_UMASK)):
            status, source, dest = self.migrate(["-accel", "kvm"], dest_args)
            self.assertEqual(status, "completed", dest.stderr)
            self.assertEqual(dest.leaves(), [VPMU_LEAF])


# A deny-list that denies no architectural event
EXAMPLE_OTHER_UMASK = filter_object("deny", [default(0xc0, 0x01)])


if __name__ == "__main__":
    unittest.main(verbosity=2)
