# SPDX-License-Identifier: GPL-2.0-or-later
"""Every way of asking for a filter either installs it before the first
KVM_RUN or makes QEMU refuse to start: -accel, later -accel options
that QEMU does not use, -readconfig [accel] groups, -global, and filter
objects that no option names.  query-kvm reports what was installed."""

import json
import os
import tempfile
import unittest

from qemu_run import Run, assert_refused, skip_without_kvm
from test_pmu_filter import EXAMPLE_MASKED, EXAMPLE_RAW, expected_bytes

F1 = dict(EXAMPLE_RAW, id="f1", action="deny")


def objects(*objs):
    args = []
    for obj in objs:
        args += ["-object", json.dumps(obj)]
    return args


@skip_without_kvm
class Installed(unittest.TestCase):
    def assert_installed(self, args, obj, fid="f0"):
        with Run(args + ["-S"]) as run:
            qmp = run.connect()
            info = qmp.cmd("query-kvm")["return"]
            self.assertEqual(info.get("pmu-filter"), fid)
            self.assertEqual(run.stop(), 0, run.stderr)
            self.assertEqual(run.filters(), [expected_bytes(obj)])
            self.assertFalse(run.ran_guest())
            self.assertEqual([w for w in run.warnings()
                              if "global" in w or "filter" in w], [])

    def test_accel_option(self):
        self.assert_installed(["-accel", "kvm,pmu-filter=f0"] +
                              objects(EXAMPLE_RAW), EXAMPLE_RAW)

    def test_global(self):
        self.assert_installed(["-global", "kvm-accel.pmu-filter=f0"] +
                              objects(EXAMPLE_MASKED), EXAMPLE_MASKED)

    def test_global_with_plain_accel(self):
        self.assert_installed(["-accel", "kvm", "-global",
                               "kvm-accel.pmu-filter=f1"] +
                              objects(EXAMPLE_RAW, F1), F1, fid="f1")

    def test_same_filter_twice(self):
        self.assert_installed(["-accel", "kvm,pmu-filter=f0",
                               "-accel", "kvm,pmu-filter=f0",
                               "-global", "kvm-accel.pmu-filter=f0"] +
                              objects(EXAMPLE_RAW), EXAMPLE_RAW)

    def test_no_filter_in_query_kvm(self):
        with Run(["-accel", "kvm", "-S"]) as run:
            qmp = run.connect()
            self.assertNotIn("pmu-filter", qmp.cmd("query-kvm")["return"])
            run.stop()

    def test_preconfig(self):
        with Run(["-global", "kvm-accel.pmu-filter=f0", "--preconfig",
                  "-S"]) as run:
            qmp = run.connect()
            self.assertIn("return", qmp.cmd("object-add", **EXAMPLE_RAW))
            self.assertIn("return", qmp.cmd("x-exit-preconfig"))
            self.assertEqual(qmp.cmd("query-kvm")["return"]["pmu-filter"],
                             "f0")
            run.stop()
            self.assertEqual(run.filters(), [expected_bytes(EXAMPLE_RAW)])


@skip_without_kvm
class Refused(unittest.TestCase):
    """One error line that names the option, no filter, no KVM_RUN."""

    def assert_refused(self, args, message):
        run = assert_refused(self, args, message)
        self.assertEqual(run.filters(), [])
        return run

    def test_later_accel_option(self):
        run = self.assert_refused(
            ["-accel", "kvm", "-accel", "kvm,pmu-filter=f0"] +
            objects(EXAMPLE_RAW),
            "qemu-system-x86_64: -accel kvm,pmu-filter=f0: PMU event filter "
            "'f0' would not be installed: QEMU uses the first -accel option "
            "that works, 'kvm'")
        self.assertEqual(run.hint_lines(), [
            "Give pmu-filter in that -accel option, or as -global "
            "kvm-accel.pmu-filter=f0."])

    def test_later_accel_option_with_bad_properties(self):
        self.assert_refused(
            ["-accel", "kvm", "-accel", "kvm,pmu-filter=nosuch,bogus=1"],
            "-accel kvm,pmu-filter=nosuch,bogus=1: PMU event filter "
            "'nosuch' would not be installed")

    def test_later_accel_option_naming_another_filter(self):
        self.assert_refused(
            ["-accel", "kvm,pmu-filter=f0", "-accel", "kvm,pmu-filter=f1"] +
            objects(EXAMPLE_RAW, F1),
            "-accel kvm,pmu-filter=f1: PMU event filter 'f1' would not be "
            "installed")

    def test_accelerator_without_filters(self):
        self.assert_refused(
            ["-accel", "qtest", "-accel", "kvm,pmu-filter=f0"] +
            objects(EXAMPLE_RAW),
            "QEMU uses the first -accel option that works, 'qtest'")

    def test_readconfig_accel_groups(self):
        with tempfile.NamedTemporaryFile("w", suffix=".cfg",
                                         delete=False) as cfg:
            cfg.write('[accel]\n  accel = "kvm"\n\n'
                      '[accel]\n  accel = "kvm"\n  pmu-filter = "f0"\n')
        try:
            self.assert_refused(["-readconfig", cfg.name] +
                                objects(EXAMPLE_RAW),
                                "PMU event filter 'f0' would not be "
                                "installed")
        finally:
            os.unlink(cfg.name)

    def test_global_and_accel_disagree(self):
        self.assert_refused(
            ["-global", "kvm-accel.pmu-filter=f1",
             "-accel", "kvm,pmu-filter=f0"] + objects(EXAMPLE_RAW, F1),
            "-accel kvm,pmu-filter=f0: pmu-filter is already set to 'f1'")

    def test_global_for_unused_accelerator(self):
        self.assert_refused(
            ["-accel", "qtest", "-global", "kvm-accel.pmu-filter=f0"] +
            objects(EXAMPLE_RAW),
            "-global kvm-accel.pmu-filter=f0: PMU event filter 'f0' would "
            "not be installed by accelerator 'qtest'")

    def test_object_that_no_option_names(self):
        run = self.assert_refused(
            ["-accel", "kvm"] + objects(EXAMPLE_RAW),
            "PMU event filter 'f0' would not be installed: no pmu-filter "
            "names it")
        self.assertEqual(run.hint_lines(), [
            "Name it with -accel kvm,pmu-filter=f0, or delete it."])

    def test_machine_property(self):
        self.assert_refused(["-machine", "pmu-filter=f0"] +
                            objects(EXAMPLE_RAW), "pmu-filter")

    def test_preconfig_object_without_option(self):
        with Run(["-accel", "kvm", "--preconfig"]) as run:
            qmp = run.connect()
            self.assertIn("return", qmp.cmd("object-add", **EXAMPLE_RAW))
            qmp.cmd("x-exit-preconfig")
            run.wait()
            self.assertEqual(run.proc.returncode, 1)
            self.assertIn("PMU event filter 'f0' would not be installed",
                          run.error_lines()[0])
            self.assertFalse(run.ran_guest())


if __name__ == "__main__":
    unittest.main(verbosity=2)
