# SPDX-License-Identifier: GPL-2.0-or-later
"""Hardening: malformed filters are refused with one error line and no
guest, and the object's lifecycle over QMP keeps an installed filter
fixed."""

import json
import os
import tempfile
import unittest

from malformed import corpus
from qemu_run import Run, assert_refused, skip_without_kvm
from test_pmu_filter import EXAMPLE_RAW, expected_bytes, filter_args, raw_events

LOOPS = 1000
# A 300-event filter holds over 5 KiB of strings alone, so losing any of
# its data in a loop grows RSS by 5 MiB or more; glibc's heap top
# moves by about 1.1 MiB on its own.  Small leaks are LeakSanitizer's.
RSS_SLACK_KIB = 2048


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def settled_rss_kib(pid, loop, times):
    """The lowest of five RSS samples, each taken after loop(times)."""
    samples = []
    for _ in range(5):
        loop(times)
        samples.append(rss_kib(pid))
    return min(samples)


def object_ids(qmp):
    """IDs under /objects, after any responses still queued for garbage
    that QMP's JSON parser rejected piece by piece."""
    rsp = qmp.send(b'{"execute": "qom-list", "arguments": '
                   b'{"path": "/objects"}, "id": "sync"}')
    while rsp.get("id") != "sync":
        rsp = qmp.read()
    return [o["name"] for o in rsp["return"]]


@skip_without_kvm
class MalformedFilters(unittest.TestCase):
    """Every case of malformed.py, through -object and object-add."""

    def check_refused_object(self, data, message):
        run = assert_refused(self, ["-accel", "kvm,pmu-filter=f0",
                                    "-object", data], message)
        self.assertEqual(run.filters(), [])

    def check_refused_object_add(self, data, message):
        with Run(["-accel", "kvm", "-S"]) as run:
            qmp = run.connect()
            rsp = qmp.send(b'{"execute": "object-add", "arguments": ' +
                           data + b"}")
            self.assertIn("error", rsp)
            self.assertNotIn("\n", rsp["error"]["desc"])
            self.assertIn(message, rsp["error"]["desc"])
            self.assertNotIn("f0", object_ids(qmp))
            rsp = qmp.cmd("set-kvm-pmu-filter", id="f0")
            self.assertEqual(rsp["error"]["desc"],
                             "there is no object with ID 'f0'")
            self.assertEqual(run.stop(), 0, run.stderr)
            self.assertEqual(run.filters(), [])
            self.assertFalse(run.ran_guest())


def add_case_tests():
    for i, (name, data, message) in enumerate(corpus()):
        slug = "%02d_%s" % (i, name.replace(" ", "_").replace("-", "_"))

        def by_object(self, data=data, message=message):
            self.check_refused_object(data, message)

        def by_object_add(self, data=data, message=message, name=name):
            if name == "truncated":
                self.skipTest("QMP waits for the rest of a truncated command")
            self.check_refused_object_add(data, message)

        setattr(MalformedFilters, "test_object_" + slug, by_object)
        setattr(MalformedFilters, "test_object_add_" + slug, by_object_add)


add_case_tests()


@skip_without_kvm
class Lifecycle(unittest.TestCase):
    def test_object_del_of_installed_filter_refused(self):
        with Run(filter_args(EXAMPLE_RAW) + ["-S"]) as run:
            qmp = run.connect()
            rsp = qmp.cmd("object-del", id="f0")
            self.assertIn("in use", rsp["error"]["desc"])
            self.assertIn("return", qmp.cmd("qom-get", path="/objects/f0",
                                            property="action"))
            run.stop()
            self.assertEqual(run.filters(), [expected_bytes(EXAMPLE_RAW)])

    def test_qom_set_after_installation_refused(self):
        values = {"action": "deny", "events": [],
                  "x86-fixed-counter": {"bitmap": "0x7"}}
        with Run(filter_args(EXAMPLE_RAW) + ["-S"]) as run:
            qmp = run.connect()
            for prop, value in values.items():
                rsp = qmp.cmd("qom-set", path="/objects/f0", property=prop,
                              value=value)
                self.assertEqual(rsp["error"]["desc"],
                                 f"cannot change '{prop}' of an existing "
                                 "kvm-pmu-filter")
            rsp = qmp.cmd("qom-get", path="/objects/f0", property="events")
            self.assertEqual(rsp["return"], EXAMPLE_RAW["events"])
            run.stop()
            self.assertEqual(run.filters(), [expected_bytes(EXAMPLE_RAW)])

    def test_one_filter_per_accelerator(self):
        f1 = dict(EXAMPLE_RAW, id="f1", action="deny")
        with Run(["-accel", "kvm,pmu-filter=f0,pmu-filter=f1",
                  "-object", json.dumps(EXAMPLE_RAW),
                  "-object", json.dumps(f1)]) as run:
            run.wait()
            self.assertEqual(run.proc.returncode, 1)
            self.assertIn("pmu-filter is already set to 'f0'",
                          run.error_lines()[0])
            self.assertEqual(run.filters(), [])
            self.assertFalse(run.ran_guest())

    def test_object_added_while_running_is_free(self):
        with Run(["-S"]) as run:
            qmp = run.connect()
            self.assertIn("return", qmp.cmd("cont"))
            self.assertTrue(run.wait_for_guest(), "the guest never ran")
            self.assertIn("return", qmp.cmd("object-add", **EXAMPLE_RAW))
            rsp = qmp.cmd("qom-get", path="/objects/f0", property="events")
            self.assertEqual(rsp["return"], EXAMPLE_RAW["events"])
            self.assertIn("return", qmp.cmd("object-del", id="f0"))
            run.stop()
            self.assertEqual(run.filters(), [])

    def test_add_del_loop_keeps_memory_stable(self):
        obj = {"qom-type": "kvm-pmu-filter", "id": "loop", "action": "deny",
               "events": raw_events(300),
               "x86-fixed-counter": {"bitmap": "0x7"}}
        with Run(["-S"]) as run:
            qmp = run.connect()

            def loop(times):
                for _ in range(times):
                    self.assertIn("return", qmp.cmd("object-add", **obj))
                    self.assertIn("return", qmp.cmd("object-del", id="loop"))

            before = settled_rss_kib(run.proc.pid, loop, 20)
            loop(LOOPS)
            after = settled_rss_kib(run.proc.pid, loop, 20)
            print(f"\nRSS around {LOOPS} object-add/object-del of a "
                  f"300-event filter: {before} KiB -> {after} KiB")
            self.assertEqual(run.stop(), 0)
        if os.environ.get("KPF_SANITIZED"):
            self.skipTest("RSS not compared: ASan holds freed memory in "
                          "quarantine; LeakSanitizer checked for leaks")
        self.assertLess(after - before, RSS_SLACK_KIB)


@skip_without_kvm
class RepeatedKeys(unittest.TestCase):
    """A key given twice would silently change the filter: in JSON the
    parser refuses it, and so does every other syntax."""

    def test_dotted_object(self):
        run = assert_refused(
            self, ["-accel", "kvm,pmu-filter=f0", "-object",
                   "kvm-pmu-filter,id=f0,action=allow,action=deny"],
            "-object kvm-pmu-filter,id=f0,action=allow,action=deny: "
            "Parameter 'action' is given more than once")
        self.assertEqual(run.filters(), [])

    def test_dotted_object_repeating_id(self):
        """QemuOpts would keep the first id and drop the second, also
        when the first is the flag id (id=on) or noid."""
        for obj in ("kvm-pmu-filter,id=f0,action=deny,id=f1",
                    "kvm-pmu-filter,id,id=f0,action=deny",
                    "kvm-pmu-filter,noid,id=f0,action=deny"):
            # QEMU warns that the flag form of id is deprecated first
            with Run(["-accel", "kvm,pmu-filter=f0", "-object", obj]) as run:
                run.wait()
                self.assertEqual(run.proc.returncode, 1, run.stderr)
                self.assertIn("Parameter 'id' is given more than once",
                              run.error_lines()[-1])
                self.assertEqual(run.filters(), [])
                self.assertFalse(run.ran_guest())

    def test_dotted_object_list_by_repetition(self):
        """-object writes a list by repeating its key: that still works,
        and an escaped comma followed by "id=" is part of a value."""
        with Run(["-accel", "kvm", "-S",
                  "-object", "thread-context,id=t0,cpu-affinity=0,"
                  "cpu-affinity=0",
                  "-object", "authz-simple,id=a0,identity=x,,id=y"]) as run:
            qmp = run.connect()
            self.assertIn("t0", object_ids(qmp))
            rsp = qmp.cmd("qom-get", path="/objects/a0", property="identity")
            self.assertEqual(rsp["return"], "x,id=y")
            self.assertEqual(run.stop(), 0, run.stderr)

    def test_struct_list_in_dotted_object(self):
        """The options visitor has no lists of structs: an error, where
        QEMU 10.2 aborts on an assertion."""
        run = assert_refused(
            self, ["-accel", "kvm", "-object",
                   "kvm-pmu-filter,id=f0,action=deny,events=raw"],
            "Parameter 'events' is a list of objects with more than one "
            "member, which needs JSON syntax")
        self.assertEqual(run.filters(), [])

    def test_readconfig_group(self):
        with tempfile.NamedTemporaryFile("w", suffix=".cfg",
                                         delete=False) as cfg:
            cfg.write('[object "f0"]\n  qom-type = "kvm-pmu-filter"\n'
                      '  action = "allow"\n  action = "deny"\n')
        self.addCleanup(os.unlink, cfg.name)
        run = assert_refused(
            self, ["-accel", "kvm,pmu-filter=f0", "-readconfig", cfg.name],
            "Parameter 'action' is given more than once")
        self.assertEqual(run.filters(), [])

    def test_hmp_object_add(self):
        with Run(["-accel", "kvm", "-S"]) as run:
            qmp = run.connect()
            rsp = qmp.cmd("human-monitor-command", **{
                "command-line": "object_add kvm-pmu-filter,id=f0,action=deny,"
                "events.0.format=raw,events.0.code=0xc4,"
                "events.0.code=0x2e"})
            self.assertIn("Parameter 'events.0.code' is given more than "
                          "once", rsp["return"])
            self.assertNotIn("f0", object_ids(qmp))
            rsp = qmp.cmd("human-monitor-command", **{
                "command-line": "object_add kvm-pmu-filter,id=f0,action=deny,"
                "events.0.format=raw,events.0.code=0xc4,"
                "events.00.format=raw,events.00.code=0xc5"})
            self.assertIn("are the same list element", rsp["return"])
            self.assertNotIn("f0", object_ids(qmp))
            run.stop()
            self.assertEqual(run.filters(), [])
