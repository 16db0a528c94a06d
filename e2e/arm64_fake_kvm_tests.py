# SPDX-License-Identifier: GPL-2.0-or-later
"""The arm64 glue, end to end without an arm64 host: the cross-built
qemu-system-aarch64 runs under qemu-user on arm64-fake-kvm.c, a stand-in
for arm64 KVM that logs every PMU attribute a vCPU is given.  Run by
`make check-arm64`; not a test_*.py module, so `make check` leaves it
out."""

import json
import os
import shutil
import unittest

from qemu_run import TOP, Run, assert_refused

QEMU_ARM = os.environ.get(
    "QEMU_ARM", os.path.join(TOP, "build/arm64/obj/qemu-system-aarch64"))
FAKE_KVM = os.environ.get(
    "FAKE_KVM", os.path.join(TOP, "build/arm64/e2e/fake-kvm.so"))
QEMU_USER = shutil.which("qemu-aarch64-static")
ARM_ARGS = ["-M", "virt,gic-version=3", "-cpu", "host", "-m", "64",
            "-smp", "2", "-display", "none", "-nodefaults", "-S"]
DENY = 1
ALLOW = 0


def unusable():
    for path in (QEMU_ARM, FAKE_KVM):
        if not os.path.exists(path):
            return "%s is missing (make check-arm64 builds it)" % path
    if not QEMU_USER:
        return "qemu-aarch64-static is not installed"
    return None


def raw(*codes):
    return [{"format": "raw", "code": c} for c in codes]


def filter_object(action, events, fid="f0", **more):
    return json.dumps(dict({"qom-type": "kvm-pmu-filter", "id": fid,
                            "action": action, "events": events}, **more))


def filter_args(action, events, **more):
    return ["-accel", "kvm,pmu-filter=f0",
            "-object", filter_object(action, events, **more)]


class ArmRun(Run):
    """qemu-system-aarch64 under qemu-user on the fake arm64 KVM"""

    def command(self, args):
        return [QEMU_USER, "-E", "LD_PRELOAD=" + FAKE_KVM, QEMU_ARM] + \
            ARM_ARGS + args

    def shim_env(self):
        return {"FAKE_KVM_LOG": self.log}

    def connect(self, timeout=90):
        """qemu-user makes QEMU's start-up slow, more so on a busy host"""
        return super().connect(timeout)

    def records(self):
        """The fake's lines, as (kind, vCPU, rest of the line)"""
        out = []
        if os.path.exists(self.log):
            with open(self.log) as f:
                for line in f:
                    kind, vcpu, *rest = line.split()
                    out.append((kind, int(vcpu), tuple(rest)))
        return out

    def ran_guest(self):
        return any(record[0] == "run" for record in self.records())

    def judge_filters(self):
        """The kernel judge is x86's; Arm ranges are checked by value."""


@unittest.skipIf(unusable(), unusable())
class Arm64PMUFilter(unittest.TestCase):
    maxDiff = None

    def start(self, args, env=None):
        run = ArmRun(args, env=env)
        self.addCleanup(run.stop)
        self.assertIsNotNone(run.connect_or_exit(), run.stderr)
        return run

    def assert_ranges(self, args, ranges, action, env=None):
        """Each vCPU gets @ranges with @action before its PMU is
        created, and the guest is stopped before running"""
        run = self.start(args, env)
        expected = []
        for vcpu in range(2):
            expected += [("filter", vcpu, ("0x%x" % base, str(n),
                                           str(action)))
                         for base, n in ranges]
            expected.append(("pmu-init", vcpu, ()))
        self.assertEqual(run.records(), expected)
        info = run.qmp.cmd("query-kvm")["return"]
        self.assertEqual(info.get("pmu-filter"), "f0")
        return run

    def test_deny_list(self):
        self.assert_ranges(filter_args("deny", raw("0x11", "0x8", "0x12")),
                           [(0x8, 1), (0x11, 2)], DENY)

    def test_allow_list_merges_and_drops_repeats(self):
        events = raw("0x13", "0x11", "0x12", "0x11", "0x40", "3", "0x41",
                     "2", "0xffff")
        self.assert_ranges(filter_args("allow", events),
                           [(0x2, 2), (0x11, 3), (0x40, 2), (0xffff, 1)],
                           ALLOW)

    def test_empty_allow_list_denies_everything(self):
        self.assert_ranges(filter_args("allow", []), [(0, 0)], ALLOW)

    def test_empty_deny_list(self):
        self.assert_ranges(filter_args("deny", []), [], DENY)

    def test_global_property(self):
        run = self.start(["-global", "kvm-accel.pmu-filter=f0",
                          "-object", filter_object("deny", raw("0x8"))])
        self.assertIn(("filter", 1, ("0x8", "1", str(DENY))), run.records())

    def test_without_filter(self):
        run = self.start([])
        self.assertEqual(run.records(),
                         [("pmu-init", 0, ()), ("pmu-init", 1, ())])
        self.assertNotIn("pmu-filter", run.qmp.cmd("query-kvm")["return"])

    def test_no_switch(self):
        run = self.start(filter_args("deny", raw("0x8")))
        before = run.records()
        self.assertEqual(run.qmp.cmd(
            "object-add", **json.loads(filter_object(
                "deny", raw("0x11"), fid="f1"))), {"return": {}})
        err = run.qmp.cmd("set-kvm-pmu-filter", id="f1")["error"]
        self.assertEqual(err["desc"],
                         "cannot change the PMU event filter of this VM")
        self.assertEqual(run.qmp.cmd("set-kvm-pmu-filter", id="f0"),
                         {"return": {}})
        self.assertEqual(run.records(), before)
        self.assertEqual(run.qmp.cmd("query-kvm")["return"]["pmu-filter"],
                         "f0")

    def assert_arm_refused(self, args, message, env=None):
        run = assert_refused(self, args, message, env=env, runner=ArmRun)
        self.assertNotIn("filter", [r[0] for r in run.records()])

    def test_x86_formats_refused(self):
        events = raw("0x8") + [{"format": "x86-default", "select": "0xc0",
                                "umask": "0"}]
        self.assert_arm_refused(
            filter_args("deny", events),
            "qemu-system-aarch64: PMU event filter 'f0': events[1]: "
            "Arm has no x86-default events")
        masked = [{"format": "x86-masked-entry", "select": "0xc0",
                   "mask": "0", "match": "0"}]
        self.assert_arm_refused(
            filter_args("deny", masked),
            "PMU event filter 'f0': events[0]: Arm has no x86-masked-entry "
            "events")

    def test_fixed_counter_refused(self):
        self.assert_arm_refused(
            filter_args("allow", raw("0x11"),
                        **{"x86-fixed-counter": {"bitmap": "0x1"}}),
            "PMU event filter 'f0': Arm has no x86-fixed-counter")

    def test_event_number_of_pmuv3_v8_0(self):
        args = filter_args("deny", raw("0x3ff", "0x400"))
        self.assert_arm_refused(
            args, "PMU event filter 'f0': events[1]: event 0x400 is above "
            "0x3ff, the highest event number of the vCPUs' PMU",
            env={"FAKE_KVM_PMUVER": "1"})
        self.assert_ranges(args, [(0x3ff, 2)], DENY)

    def test_no_pmu_refused(self):
        self.assert_arm_refused(
            ["-cpu", "host,pmu=off"] + filter_args("deny", raw("0x8")),
            "qemu-system-aarch64: PMU event filter 'f0' cannot be "
            "installed: vCPU 0 has no PMU")

    def test_old_kernel_refused(self):
        self.assert_arm_refused(
            filter_args("deny", raw("0x8")),
            "qemu-system-aarch64: PMU event filter 'f0': KVM does not "
            "support PMU event filters", env={"FAKE_KVM_NO_FILTER": "1"})

    def test_missing_object_refused(self):
        self.assert_arm_refused(
            ["-accel", "kvm,pmu-filter=nope"],
            "-accel kvm,pmu-filter=nope: there is no object with ID 'nope'")


if __name__ == "__main__":
    unittest.main()
