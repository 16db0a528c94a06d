# SPDX-License-Identifier: GPL-2.0-or-later
"""Every option that names a filter either installs it before the first
KVM_RUN or makes QEMU refuse to start: -accel, -global, later -accel
options that QEMU does not use, also from -readconfig and after a failed
accelerator.  A filter object that no option names is harmless.
query-kvm reports what was installed."""

import json
import os
import tempfile
import time
import unittest

from qemu_run import Run, assert_refused, skip_without_kvm
from test_pmu_filter import EXAMPLE_MASKED, EXAMPLE_RAW, expected_bytes

F1 = dict(EXAMPLE_RAW, id="f1", action="deny")
IGNORED = ("pmu-filter=%s would be ignored: QEMU does not use this -accel "
           "option but one for %s")


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
        obj = dict(EXAMPLE_MASKED, action="deny")
        self.assert_installed(["-global", "kvm-accel.pmu-filter=f0"] +
                              objects(obj), obj)

    def test_global_with_plain_accel(self):
        self.assert_installed(["-accel", "kvm", "-global",
                               "kvm-accel.pmu-filter=f1"] +
                              objects(EXAMPLE_RAW, F1), F1, fid="f1")

    def test_global_and_accel_agree(self):
        self.assert_installed(["-accel", "kvm,pmu-filter=f0",
                               "-global", "kvm-accel.pmu-filter=f0"] +
                              objects(EXAMPLE_RAW), EXAMPLE_RAW)

    def test_after_a_failed_accelerator(self):
        """A first -accel kvm that fails in kvm_arch_init(), as rapl=on
        does without RAPL, hands over to the next one: no second
        migration section, and the filter is installed."""
        with Run(["-accel", "kvm,rapl=on", "-accel", "kvm,pmu-filter=f0",
                  "-S"] + objects(EXAMPLE_RAW)) as run:
            qmp = run.connect_or_exit()
            if qmp is None and "pmu-filter=f0 would be ignored" in run.stderr:
                self.skipTest("rapl=on works on this host, so the first "
                              "-accel kvm was used, and the filter of the "
                              "second, unused, is refused")
            self.assertIsNotNone(qmp, run.stderr)
            self.assertEqual(qmp.cmd("query-kvm")["return"]["pmu-filter"],
                             "f0")
            self.assertEqual(run.stop(), 0, run.stderr)
            if "falling back to KVM" not in run.stderr:
                self.skipTest("rapl=on works on this host, so the first "
                              "-accel kvm did not fail")
            self.assertNotIn("duplicate", run.stderr)
            self.assertEqual(run.filters(), [expected_bytes(EXAMPLE_RAW)])

    def test_migrate_after_falling_back_to_qtest(self):
        """A KVM that failed and left QEMU to QTest has no filter to
        migrate, and its freed state is not looked at."""
        path = os.path.join(tempfile.mkdtemp(prefix="kpf-fallback-"), "mig")
        with Run(["-accel", "kvm,rapl=on", "-accel", "qtest", "-S"]) as run:
            qmp = run.connect_or_exit()
            self.assertIsNotNone(qmp, run.stderr)
            self.assertIn("return", qmp.cmd("migrate", uri="file:" + path))
            deadline = time.time() + 30
            while (qmp.cmd("query-migrate")["return"]["status"] !=
                   "completed" and time.time() < deadline):
                time.sleep(0.05)
            self.assertEqual(run.stop(), 0, run.stderr)
            if "falling back to QTest" not in run.stderr:
                self.skipTest("rapl=on works on this host, so the first "
                              "-accel kvm did not fail")
        with open(path, "rb") as f:
            self.assertNotIn(b"kvm-pmu-filter", f.read())

    def test_preconfig(self):
        with Run(["-global", "kvm-accel.pmu-filter=f0", "--preconfig",
                  "-S"] + objects(EXAMPLE_RAW)) as run:
            qmp = run.connect()
            self.assertIn("return", qmp.cmd("x-exit-preconfig"))
            self.assertEqual(qmp.cmd("query-kvm")["return"]["pmu-filter"],
                             "f0")
            run.stop()
            self.assertEqual(run.filters(), [expected_bytes(EXAMPLE_RAW)])

    def test_no_filter_in_query_kvm(self):
        with Run(["-accel", "kvm", "-S"]) as run:
            qmp = run.connect()
            self.assertNotIn("pmu-filter", qmp.cmd("query-kvm")["return"])
            run.stop()


@skip_without_kvm
class Unused(unittest.TestCase):
    """An object is not a request: creating one without naming it is
    harmless, before or after the machine starts."""

    def test_object_that_no_option_names(self):
        with Run(["-accel", "kvm", "-S"] + objects(EXAMPLE_RAW)) as run:
            qmp = run.connect()
            self.assertNotIn("pmu-filter", qmp.cmd("query-kvm")["return"])
            self.assertIn("return", qmp.cmd("object-del", id="f0"))
            self.assertEqual(run.stop(), 0, run.stderr)
            self.assertEqual(run.filters(), [])
            self.assertEqual([w for w in run.warnings() if "filter" in w], [])

    def test_then_switch_to_it(self):
        """The documented flow, create the object, then switch to it,
        also works when the object exists at start-up."""
        with Run(["-accel", "kvm", "-S"] + objects(EXAMPLE_RAW)) as run:
            qmp = run.connect()
            self.assertEqual(qmp.cmd("set-kvm-pmu-filter", id="f0"),
                             {"return": {}})
            self.assertEqual(qmp.cmd("query-kvm")["return"]["pmu-filter"],
                             "f0")
            run.stop()
            self.assertEqual(run.filters(), [expected_bytes(EXAMPLE_RAW)])

    def test_preconfig_object_without_option(self):
        with Run(["-accel", "kvm", "--preconfig"]) as run:
            qmp = run.connect()
            self.assertIn("return", qmp.cmd("object-add", **EXAMPLE_RAW))
            self.assertIn("return", qmp.cmd("x-exit-preconfig"))
            self.assertEqual(run.stop(), 0, run.stderr)
            self.assertEqual(run.filters(), [])


@skip_without_kvm
class Refused(unittest.TestCase):
    """One error line that names the option, no filter, no KVM_RUN."""

    def assert_refused(self, args, message, hints=None):
        run = assert_refused(self, args, message, hints=hints)
        self.assertEqual(run.filters(), [])
        return run

    def test_later_accel_option(self):
        self.assert_refused(
            ["-accel", "kvm", "-accel", "kvm,pmu-filter=f0"] +
            objects(EXAMPLE_RAW),
            "qemu-system-x86_64: -accel kvm,pmu-filter=f0: " +
            IGNORED % ("f0", "KVM"),
            hints=["Give pmu-filter in the -accel option that QEMU uses, or "
                   "as -global kvm-accel.pmu-filter=f0."])

    def test_later_accel_option_naming_the_same_filter(self):
        self.assert_refused(
            ["-accel", "kvm,pmu-filter=f0", "-accel", "kvm,pmu-filter=f0"] +
            objects(EXAMPLE_RAW), IGNORED % ("f0", "KVM"))

    def test_every_value_of_a_later_option(self):
        self.assert_refused(
            ["-accel", "kvm,pmu-filter=f0",
             "-accel", "kvm,pmu-filter=f1,pmu-filter=f0"] +
            objects(EXAMPLE_RAW, F1),
            "-accel kvm,pmu-filter=f1,pmu-filter=f0: " +
            IGNORED % ("f1", "KVM"))

    def test_later_accel_option_with_bad_properties(self):
        self.assert_refused(
            ["-accel", "kvm", "-accel", "kvm,pmu-filter=nosuch,bogus=1"],
            "-accel kvm,pmu-filter=nosuch,bogus=1: " +
            IGNORED % ("nosuch", "KVM"))

    def test_accel_after_a_failed_accelerator(self):
        """QEMU reports why the first accelerator failed, then refuses."""
        self.assert_refused_after_fallback(
            ["-accel", "kvm,device=/nonexistent,pmu-filter=f0",
             "-accel", "kvm"] + objects(EXAMPLE_RAW),
            "-accel kvm,device=/nonexistent,pmu-filter=f0: " +
            IGNORED % ("f0", "KVM"))

    def test_accel_after_a_failed_arch_init(self):
        with Run(["-accel", "kvm,rapl=on,pmu-filter=f0",
                  "-accel", "kvm", "-S"] + objects(EXAMPLE_RAW)) as run:
            if run.connect_or_exit():
                run.stop()
                self.skipTest("rapl=on works on this host")
            self.assertEqual(run.proc.returncode, 1, run.stderr)
            self.assertIn("-accel kvm,rapl=on,pmu-filter=f0: " +
                          IGNORED % ("f0", "KVM"), run.error_lines()[-1])
            self.assertEqual(run.filters(), [])
            self.assertFalse(run.ran_guest())

    def test_accelerator_without_filters(self):
        self.assert_refused(
            ["-accel", "qtest", "-accel", "kvm,pmu-filter=f0"] +
            objects(EXAMPLE_RAW), IGNORED % ("f0", "QTest"), hints=[])

    def assert_refused_after_fallback(self, args, message):
        """QEMU says why it skipped an -accel option, then refuses."""
        with Run(args) as run:
            run.wait()
            self.assertEqual(run.proc.returncode, 1, run.stderr)
            self.assertIn(message, run.error_lines()[-1])
            self.assertEqual(run.filters(), [])
            self.assertFalse(run.ran_guest())

    def test_accel_option_for_an_accelerator_not_built(self):
        """This QEMU has no TCG; the option still names a filter."""
        self.assert_refused_after_fallback(
            ["-accel", "tcg,pmu-filter=f0", "-accel", "kvm"] +
            objects(EXAMPLE_RAW),
            "-accel tcg,pmu-filter=f0: " + IGNORED % ("f0", "KVM"))

    def test_accel_option_for_an_accelerator_without_filters(self):
        self.assert_refused(
            ["-accel", "kvm", "-accel", "qtest,pmu-filter=f0"] +
            objects(EXAMPLE_RAW),
            "-accel qtest,pmu-filter=f0: " + IGNORED % ("f0", "KVM"))

    def test_accel_option_for_an_unknown_accelerator(self):
        self.assert_refused_after_fallback(
            ["-accel", "kvm,accel=nope,pmu-filter=f0", "-accel", "kvm"] +
            objects(EXAMPLE_RAW),
            "-accel kvm,accel=nope,pmu-filter=f0: " +
            IGNORED % ("f0", "KVM"))

    def test_global_for_an_accelerator_not_built(self):
        self.assert_refused(
            ["-accel", "kvm", "-global", "tcg-accel.pmu-filter=f0"] +
            objects(EXAMPLE_RAW),
            "qemu-system-x86_64: global tcg-accel.pmu-filter=f0 would be "
            "ignored: there is no type 'tcg-accel'",
            hints=["The accelerator in use is kvm-accel."])

    def test_global_for_a_misspelt_accelerator(self):
        self.assert_refused(
            ["-accel", "kvm", "-global", "kvm.pmu-filter=f0"] +
            objects(EXAMPLE_RAW),
            "qemu-system-x86_64: global kvm.pmu-filter=f0 would be ignored: "
            "there is no type 'kvm'",
            hints=["The accelerator in use is kvm-accel."])

    def test_readconfig_accel_groups(self):
        with tempfile.NamedTemporaryFile("w", suffix=".cfg",
                                         delete=False) as cfg:
            cfg.write('[accel]\n  accel = "kvm"\n\n'
                      '[accel]\n  accel = "kvm"\n  pmu-filter = "f0"\n')
        try:
            self.assert_refused(["-readconfig", cfg.name] +
                                objects(EXAMPLE_RAW), IGNORED % ("f0", "KVM"))
        finally:
            os.unlink(cfg.name)

    def test_global_and_accel_disagree(self):
        self.assert_refused(
            ["-global", "kvm-accel.pmu-filter=f1",
             "-accel", "kvm,pmu-filter=f0"] + objects(EXAMPLE_RAW, F1),
            "-accel kvm,pmu-filter=f0: pmu-filter is already set to 'f1'",
            hints=["KVM installs one filter per VM."])

    def test_global_naming_no_object(self):
        """The error names the -global, not the -accel option that QEMU
        was processing when it applied it."""
        run = self.assert_refused(
            ["-accel", "kvm", "-global", "kvm-accel.pmu-filter=nosuch"],
            "qemu-system-x86_64: can't apply global "
            "kvm-accel.pmu-filter=nosuch: there is no object with ID "
            "'nosuch'")
        self.assertFalse(run.error_lines()[0].startswith(
            "qemu-system-x86_64: -accel"))

    def test_machine_property(self):
        self.assert_refused(["-machine", "pmu-filter=f0"] +
                            objects(EXAMPLE_RAW), "pmu-filter")


class RefusedOnQtest(unittest.TestCase):
    """Requests that the accelerator in use, qtest, would drop: no KVM
    needed to see them refused."""

    def test_global_for_unused_accelerator(self):
        assert_refused(
            self, ["-accel", "qtest", "-global", "kvm-accel.pmu-filter=f0"] +
            objects(EXAMPLE_RAW),
            "qemu-system-x86_64: global kvm-accel.pmu-filter=f0 would be "
            "ignored: the accelerator in use is qtest-accel", hints=[])

    def test_global_for_the_accelerator_in_use(self):
        """-global for the accelerator in use, by its type or by the type
        of every accelerator, which has no filter to take"""
        for driver in ("qtest-accel", "accel"):
            with self.subTest(driver=driver):
                assert_refused(
                    self, ["-accel", "qtest", "-global",
                           driver + ".pmu-filter=f0"] + objects(EXAMPLE_RAW),
                    "qemu-system-x86_64: global %s.pmu-filter=f0 would be "
                    "ignored: the accelerator in use, qtest-accel, has no "
                    "property pmu-filter" % driver, hints=[])

    def test_global_for_a_misspelt_accelerator(self):
        assert_refused(
            self, ["-accel", "qtest", "-global", "kvm.pmu-filter=f0"] +
            objects(EXAMPLE_RAW),
            "qemu-system-x86_64: global kvm.pmu-filter=f0 would be ignored: "
            "there is no type 'kvm'",
            hints=["The accelerator in use is qtest-accel."])

    def test_unused_accel_option(self):
        assert_refused(
            self, ["-accel", "qtest", "-accel", "kvm,pmu-filter=f0"] +
            objects(EXAMPLE_RAW),
            "qemu-system-x86_64: -accel kvm,pmu-filter=f0: " +
            IGNORED % ("f0", "QTest"), hints=[])

    def test_other_accelerator_globals_ignored(self):
        """A -global for an accelerator property that QEMU may drop is
        ignored with a warning, as it always was"""
        with Run(["-accel", "qtest", "-global", "qtest-accel.nosuch=1",
                  "-global", "kvm-accel.kernel-irqchip=nonsense", "-S"]) as run:
            self.assertIsNotNone(run.connect_or_exit(), run.stderr)
            self.assertEqual(run.stop(), 0, run.stderr)
            self.assertEqual(run.warnings(), [
                "qemu-system-x86_64: warning: global qtest-accel.nosuch "
                "has invalid class name",
                "qemu-system-x86_64: warning: global "
                "kvm-accel.kernel-irqchip has invalid class name"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
