# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end tests: the patched QEMU on real /dev/kvm hands the kernel
exactly the filter that was asked for, before any guest instruction
runs, and refuses to start when it cannot."""

import json
import os
import struct
import subprocess
import unittest

import kernel_filter
from qemu_run import (QEMU, SELECT_PROBE, STAND_IN, TOP, Run,
                      assert_refused, host_gives_pmu, host_vendor,
                      kvm_fixed_counters,
                      kvm_has_masked_events, kvm_select_bits,
                      skip_without_kvm)

ALLOW, DENY = 0, 1
MASKED_FLAG = 1
CAP_PMU_EVENT_FILTER = 173
CAP_PMU_EVENT_MASKED_EVENTS = 226
EINVAL = 22
EPERM = 1

EXAMPLE_RAW = {"qom-type": "kvm-pmu-filter", "id": "f0", "action": "allow",
          "events": [{"format": "raw", "code": "0xc4"}]}
EXAMPLE_MASKED = {"qom-type": "kvm-pmu-filter", "id": "f0", "action": "allow",
          "x86-fixed-counter": {"bitmap": "0x0"},
          "events": [{"format": "x86-masked-entry", "select": "0xc4",
                      "mask": "0xff", "match": "0", "exclude": True},
                     {"format": "x86-masked-entry", "select": "0xc5",
                      "mask": "0xff", "match": "0", "exclude": True}]}


def num(s):
    return int(s, 16) if s.lower().startswith("0x") else int(s, 10)


def encode_event(ev):
    """The kernel's layouts, written from its documentation."""
    if ev["format"] == "raw":
        return num(ev["code"])
    select = num(ev["select"])
    low, high = select & 0xff, select >> 8
    if ev["format"] == "x86-default":
        return low | num(ev["umask"]) << 8 | high << 32
    return (low | num(ev["match"]) << 8 | high << 32 |
            int(ev.get("exclude", False)) << 55 | num(ev["mask"]) << 56)


def expected_bytes(obj):
    """The payload for @obj; the kernel's code judges any payload QEMU
    installs that equals it by @obj's documented meaning."""
    events = obj.get("events", [])
    masked = any(e["format"] == "x86-masked-entry" for e in events)
    bitmap = num(obj.get("x86-fixed-counter", {}).get("bitmap", "0"))
    action = ALLOW if obj["action"] == "allow" else DENY
    head = struct.pack("<8I", action, len(events), bitmap,
                       MASKED_FLAG if masked else 0, 0, 0, 0, 0)
    payload = head + b"".join(struct.pack("<Q", encode_event(e))
                              for e in events)
    kernel_filter.register(payload, obj)
    return payload


def obj_arg(obj):
    return ["-object", json.dumps(obj)]


def filter_args(obj, fid="f0"):
    return ["-accel", "kvm,pmu-filter=" + fid] + obj_arg(obj)


def raw_events(n):
    return [{"format": "raw", "code": hex(0x100 + i)} for i in range(n)]


# Events with event select bits 11:8, in each plain format
WIDE_SELECTS = {
    "qom-type": "kvm-pmu-filter", "id": "f0", "action": "deny",
    "events": [{"format": "raw", "code": "0x00000001000001c0"},
               {"format": "x86-default", "select": "0x1c0", "umask": "0x5A"},
               {"format": "x86-default", "select": "4095", "umask": "255"}]}


def masked_events(n):
    return [{"format": "x86-masked-entry", "select": hex(i & 0xff),
             "mask": "0xff", "match": hex(i >> 8), "exclude": i % 2 == 1}
            for i in range(n)]


@skip_without_kvm
class InstalledFilter(unittest.TestCase):
    """The bytes handed to KVM_SET_PMU_EVENT_FILTER, for -S starts."""

    def assert_installed(self, obj, extra=()):
        with Run(filter_args(obj) + ["-S"] + list(extra)) as run:
            qmp = run.connect()
            status = qmp.cmd("query-status")["return"]
            self.assertFalse(status["running"])
            self.assertEqual(run.stop(), 0, run.stderr)
            self.assertEqual(run.filters(), [expected_bytes(obj)])
            self.assertFalse(run.ran_guest())
            return run

    def test_example_raw(self):
        run = self.assert_installed(EXAMPLE_RAW)
        self.assertEqual(run.filters()[0][:16],
                         struct.pack("<4I", 0, 1, 0, 0))

    def test_example_masked(self):
        run = self.assert_installed(EXAMPLE_MASKED)
        self.assertEqual(run.filters()[0][32:],
                         struct.pack("<2Q", 0xff800000000000c4,
                                     0xff800000000000c5))

    def test_raw(self):
        self.assert_installed({
            "qom-type": "kvm-pmu-filter", "id": "f0", "action": "deny",
            "events": [{"format": "raw", "code": "0xc4"},
                       {"format": "raw", "code": "0x00000000000001c0"},
                       {"format": "raw", "code": "65535"}]})

    def test_x86_default(self):
        run = self.assert_installed({
            "qom-type": "kvm-pmu-filter", "id": "f0", "action": "deny",
            "events": [{"format": "x86-default", "select": "0x3c",
                        "umask": "0x01"},
                       {"format": "x86-default", "select": "0xc0",
                        "umask": "0x5A"},
                       {"format": "x86-default", "select": "255",
                        "umask": "255"}]})
        self.assertEqual(run.filters()[0][32:],
                         struct.pack("<3Q", 0x013c, 0x5ac0, 0xffff))

    def test_wide_selects_where_kvm_compares_12_bits(self):
        if kvm_select_bits() != 12:
            self.skipTest("this host's KVM compares 8 event select bits")
        run = self.assert_installed(WIDE_SELECTS)
        self.assertEqual(run.filters()[0][32:],
                         struct.pack("<3Q", 0x00000001000001c0, 0x100005ac0,
                                     0xf0000ffff))

    def test_select_probe(self):
        """QEMU asks KVM once, before the first filter, with a probe that
        lists nothing; it installs nothing where KVM refuses it."""
        with Run(filter_args(EXAMPLE_RAW) + ["-S"]) as run:
            run.connect()
            run.stop()
            filters = [data for kind, data in run.records()
                       if kind == "filter"]
            self.assertEqual(filters, [SELECT_PROBE,
                                       expected_bytes(EXAMPLE_RAW)])
        env = {"KVM_SHIM_HIDE_CAPS": str(CAP_PMU_EVENT_MASKED_EVENTS)}
        with Run(filter_args(EXAMPLE_RAW) + ["-S"], env=env) as run:
            run.connect()
            run.stop()
            self.assertEqual(run.probes(), [])
            self.assertEqual(run.filters(), [expected_bytes(EXAMPLE_RAW)])

    def test_masked_include_exclude(self):
        self.assert_installed({
            "qom-type": "kvm-pmu-filter", "id": "f0", "action": "deny",
            "events": [{"format": "x86-masked-entry", "select": "0x2e",
                        "mask": "0xff", "match": "0x41", "exclude": False},
                       {"format": "x86-masked-entry", "select": "0x2e",
                        "mask": "0x0f", "match": "0x0f", "exclude": True}]})

    def test_allow_with_fixed_counters(self):
        self.assert_installed({
            "qom-type": "kvm-pmu-filter", "id": "f0", "action": "allow",
            "x86-fixed-counter": {"bitmap": "0x5"},
            "events": [{"format": "x86-default", "select": "0xc0",
                        "umask": "0x00"}]})

    def test_deny_fixed_counters(self):
        self.assert_installed({
            "qom-type": "kvm-pmu-filter", "id": "f0", "action": "deny",
            "x86-fixed-counter": {"bitmap": "0xffffffff"}})

    def test_empty_allow_list(self):
        run = self.assert_installed({"qom-type": "kvm-pmu-filter",
                                     "id": "f0", "action": "allow"})
        self.assertEqual(run.filters()[0], bytes(32))

    def test_300_raw_events(self):
        self.assert_installed({"qom-type": "kvm-pmu-filter", "id": "f0",
                               "action": "deny", "events": raw_events(300)})

    def test_300_masked_entries(self):
        self.assert_installed({"qom-type": "kvm-pmu-filter", "id": "f0",
                               "action": "allow",
                               "events": masked_events(300)})

    def test_incoming_migration(self):
        with Run(filter_args(EXAMPLE_RAW) + ["-incoming", "defer"]) as run:
            qmp = run.connect()
            status = qmp.cmd("query-status")["return"]
            self.assertEqual(status["status"], "inmigrate")
            run.stop()
            self.assertEqual(run.filters(), [expected_bytes(EXAMPLE_RAW)])
            self.assertFalse(run.ran_guest())

    def test_preconfig(self):
        obj = dict(EXAMPLE_MASKED)
        with Run(filter_args(obj) + ["--preconfig", "-S"]) as run:
            qmp = run.connect()
            self.assertEqual(run.filters(), [])
            self.assertIn("return", qmp.cmd("x-exit-preconfig"))
            self.assertFalse(qmp.cmd("query-status")["return"]["running"])
            self.assertEqual(run.stop(), 0, run.stderr)
            self.assertEqual(run.filters(), [expected_bytes(obj)])

    def test_in_use_filter_is_locked(self):
        with Run(filter_args(EXAMPLE_RAW) + ["-S"]) as run:
            qmp = run.connect()
            rsp = qmp.cmd("object-del", id="f0")
            self.assertIn("in use", rsp["error"]["desc"])
            rsp = qmp.cmd("qom-set", path="/objects/f0", property="action",
                          value="deny")
            self.assertEqual(rsp["error"]["desc"], "cannot change 'action' "
                             "of an existing kvm-pmu-filter")
            rsp = qmp.cmd("qom-set", path="/objects/f0", property="events",
                          value=[])
            self.assertIn("error", rsp)
            run.stop()
            self.assertEqual(len(run.filters()), 1)


@skip_without_kvm
class BeforeFirstInstruction(unittest.TestCase):
    def test_filter_precedes_first_kvm_run(self):
        with Run(filter_args(EXAMPLE_RAW)) as run:
            run.connect()
            self.assertTrue(run.wait_for_guest(), "the guest never ran")
            run.stop()
            records = [r for r in run.records() if r[0] in ("filter", "run")
                       and r != ("filter", SELECT_PROBE)]
            self.assertEqual(records[0],
                             ("filter", expected_bytes(EXAMPLE_RAW)))

    def test_no_filter_without_object(self):
        with Run(["-accel", "kvm", "-S"]) as run:
            run.connect()
            run.stop()
            self.assertEqual(run.filters(), [])


def deny(*events, bitmap=None):
    obj = {"qom-type": "kvm-pmu-filter", "id": "f0", "action": "deny",
           "events": list(events)}
    if bitmap:
        obj["x86-fixed-counter"] = {"bitmap": bitmap}
    return obj


def allow(*events, bitmap=None):
    return dict(deny(*events, bitmap=bitmap), action="allow")


def event(select, umask="0x00"):
    return {"format": "x86-default", "select": select, "umask": umask}


# Without arch-capabilities: QEMU 10.0 cannot set that MSR on every host
HOST_CPU = "host,-arch-capabilities"
INSTRUCTIONS = event("0xc0")
NO_FIXED_COUNTERS = "but KVM gives guests no fixed counters"
CORE_CYCLES = event("0x3c")


@skip_without_kvm
class Warnings(unittest.TestCase):
    """QEMU warns only where a filter cannot do what was meant: on Intel,
    when it lists an event but not the fixed counter that counts it."""

    def all_warnings_for(self, obj):
        with Run(filter_args(obj) + ["-S", "-cpu", HOST_CPU]) as run:
            run.connect()
            self.assertEqual(run.stop(), 0, run.stderr)
            self.assertEqual(run.filters(), [expected_bytes(obj)])
            return run.warnings()

    def warnings_for(self, obj):
        """The warnings but the one about fixed counters KVM lacks and
        those about what CPUID tells the guest (test_cpuid)"""
        return [w for w in self.all_warnings_for(obj)
                if NO_FIXED_COUNTERS not in w and "CPUID" not in w]

    def test_fixed_counters_where_kvm_has_none(self):
        """A bitmap where KVM gives guests no fixed counters (AMD, or no
        vPMU) was most likely written for another host: one warning, and
        the guest runs"""
        obj = allow(INSTRUCTIONS, bitmap="0x7")
        warnings = [w for w in self.all_warnings_for(obj)
                    if NO_FIXED_COUNTERS in w]
        if kvm_fixed_counters():
            self.assertEqual(warnings, [])
        else:
            self.assertEqual(len(warnings), 1, warnings)
            self.assertIn("PMU event filter 'f0' lists fixed counters "
                          "(bitmap 0x7), but KVM gives guests no fixed "
                          "counters on this host", warnings[0])
        self.assertEqual(
            [w for w in self.all_warnings_for(allow(INSTRUCTIONS))
             if NO_FIXED_COUNTERS in w], [])

    def assert_fixed_counter_warning(self, obj, expected):
        """QEMU warns where KVM gives guests fixed counters"""
        warnings = self.warnings_for(obj)
        if not kvm_fixed_counters():
            self.assertEqual(warnings, [])
            return
        self.assertEqual(len(warnings), 1 if expected else 0, warnings)
        if expected:
            self.assertIn(expected, warnings[0])

    def test_deny_instructions_but_not_fixed_counter_0(self):
        self.assert_fixed_counter_warning(
            deny(INSTRUCTIONS),
            "PMU event filter 'f0' denies event 0xc0 (instructions retired) "
            "but not fixed counter 0, which counts the same event")

    def test_allow_core_cycles_but_not_fixed_counter_1(self):
        obj = dict(deny(CORE_CYCLES), action="allow")
        self.assert_fixed_counter_warning(
            obj, "PMU event filter 'f0' allows event 0x3c (core cycles) but "
            "not fixed counter 1")

    def test_masked_entry_lists_instructions(self):
        obj = deny({"format": "x86-masked-entry", "select": "0xc0",
                    "mask": "0x00", "match": "0x00"})
        self.assert_fixed_counter_warning(obj, "denies event 0xc0")

    def test_consistent_filters_do_not_warn(self):
        for obj in (deny(INSTRUCTIONS, CORE_CYCLES, bitmap="0x3"),
                    deny(event("0xc0", "0x01"), event("0xc1")),
                    deny({"format": "x86-masked-entry", "select": "0xc0",
                          "mask": "0x00", "match": "0x00"},
                         {"format": "x86-masked-entry", "select": "0xc0",
                          "mask": "0xff", "match": "0x00",
                          "exclude": True}),
                    EXAMPLE_RAW, dict(EXAMPLE_MASKED, action="deny"),
                    {"qom-type": "kvm-pmu-filter", "id": "f0",
                     "action": "allow"}):
            self.assertEqual(self.warnings_for(obj), [], obj)

    def test_allow_list_of_excludes_allows_nothing(self):
        """The public cover letter's second example: KVM applies an
        exclude only to events that an include lists."""
        warnings = self.warnings_for(EXAMPLE_MASKED)
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn("PMU event filter 'f0' allows no general-purpose "
                      "event: its entries only exclude events", warnings[0])

    def no_pmu_trace(self, cpu):
        if STAND_IN and host_vendor() != "GenuineIntel":
            self.skipTest("QEMU tells by the host's vendor where to look "
                          "for the PMU KVM gives guests, and the stand-in's "
                          "Intel PMU runs on a %s host" % host_vendor())
        with Run(filter_args(EXAMPLE_RAW) + ["-S", "-cpu", cpu, "-trace",
                                             "kvm_x86_pmu_filter_no_pmu"]) \
                as run:
            run.connect()
            self.assertEqual(run.stop(), 0, run.stderr)
            self.assertEqual(run.warnings(), [])
            return [line for line in run.stderr.splitlines()
                    if "kvm_x86_pmu_filter_no_pmu" in line]

    def test_no_vpmu_is_traced(self):
        lines = self.no_pmu_trace(HOST_CPU + ",pmu=on")
        if host_gives_pmu():
            self.assertEqual(lines, [])
        else:
            self.assertEqual(len(lines), 1, lines)
            self.assertIn("filter f0 has nothing to filter: KVM gives "
                          "guests no PMU", lines[0])

    def test_pmu_off_is_traced(self):
        lines = self.no_pmu_trace(HOST_CPU + ",pmu=off")
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("has nothing to filter: " +
                      ("the guest CPU has pmu=off" if host_gives_pmu()
                       else "KVM gives guests no PMU"), lines[0])


@skip_without_kvm
class FailClosed(unittest.TestCase):
    """Each case exits non-zero with one error line, before any KVM_RUN."""

    def assert_refused(self, args, message, env=None, hint=None):
        return assert_refused(self, args, message, env=env,
                              hints=[hint] if hint else [])

    def test_capability_missing(self):
        run = self.assert_refused(
            filter_args(EXAMPLE_RAW), "KVM does not support PMU event filters",
            env={"KVM_SHIM_HIDE_CAPS": str(CAP_PMU_EVENT_FILTER)})
        self.assertEqual(run.filters(), [])

    def test_masked_capability_missing(self):
        run = self.assert_refused(
            filter_args(EXAMPLE_MASKED),
            "KVM does not support x86-masked-entry events",
            env={"KVM_SHIM_HIDE_CAPS": str(CAP_PMU_EVENT_MASKED_EVENTS)})
        self.assertEqual(run.filters(), [])

    def test_select_probe_fails(self):
        """Only EINVAL tells that KVM compares 8 select bits; any other
        error of the probe fails the install."""
        if not kvm_has_masked_events():
            self.skipTest("KVM has no masked entries, so QEMU makes no probe")
        run = self.assert_refused(
            filter_args(EXAMPLE_RAW),
            "qemu-system-x86_64: PMU event filter 'f0': cannot find out how "
            "many event select bits KVM compares: Operation not permitted",
            env={"KVM_SHIM_FILTER_ERRNO": str(EPERM),
                 "KVM_SHIM_FILTER_FAIL_CALL": "1"})
        self.assertEqual(run.probes(), [SELECT_PROBE])
        self.assertEqual(run.filters(), [])

    def test_kernel_refuses(self):
        run = self.assert_refused(
            filter_args(EXAMPLE_RAW),
            "qemu-system-x86_64: KVM refused PMU event filter 'f0': "
            "Invalid argument",
            env={"KVM_SHIM_FILTER_ERRNO": str(EINVAL)})
        self.assertEqual(run.filters(), [expected_bytes(EXAMPLE_RAW)])

    def test_kernel_refuses_masked(self):
        run = self.assert_refused(
            filter_args(EXAMPLE_MASKED), "KVM refused PMU event filter 'f0'",
            env={"KVM_SHIM_FILTER_ERRNO": str(EINVAL)})
        self.assertEqual(run.filters(), [expected_bytes(EXAMPLE_MASKED)])

    def test_wide_selects_where_kvm_compares_8_bits(self):
        """KVM would silently drop the plain events and refuses the
        masked entry; QEMU refuses all of them, naming the event."""
        if kvm_select_bits() != 8:
            self.skipTest("this host's KVM compares 12 event select bits")
        masked = deny({"format": "x86-masked-entry", "select": "0x1c4",
                       "mask": "0xff", "match": "0x00"})
        cases = [(WIDE_SELECTS, "events[0]: event select 0x1c0"),
                 (dict(WIDE_SELECTS, events=WIDE_SELECTS["events"][1:]),
                  "events[0]: event select 0x1c0"),
                 (dict(WIDE_SELECTS, events=WIDE_SELECTS["events"][2:]),
                  "events[0]: event select 0xfff"),
                 (masked, "events[0]: event select 0x1c4")]
        for obj, where in cases:
            run = self.assert_refused(
                filter_args(obj), "PMU event filter 'f0': " + where +
                " is wider than the 8 bits that KVM compares on this host")
            self.assertEqual(run.filters(), [])

    def test_301_events(self):
        obj = {"qom-type": "kvm-pmu-filter", "id": "f0", "action": "deny",
               "events": raw_events(301)}
        self.assert_refused(filter_args(obj),
                            "301 events given, at most 300 allowed")

    def test_raw_bits_kvm_would_drop(self):
        obj = {"qom-type": "kvm-pmu-filter", "id": "f0", "action": "deny",
               "events": [{"format": "raw", "code": "0xc5"},
                          {"format": "raw", "code": "0x5300c4"}]}
        run = self.assert_refused(
            filter_args(obj), "PMU event filter 'f0': events[1]: code "
            "0x5300c4 has bits outside event select and unit mask")
        self.assertEqual(run.filters(), [])

    def test_unknown_id(self):
        self.assert_refused(filter_args(EXAMPLE_RAW, fid="nope"),
                            "qemu-system-x86_64: -accel kvm,pmu-filter=nope: "
                            "there is no object with ID 'nope'")

    def test_empty_id(self):
        self.assert_refused(filter_args(EXAMPLE_RAW, fid=""),
                            "-accel kvm,pmu-filter=: pmu-filter must not be "
                            "empty",
                            hint="Give the ID of a kvm-pmu-filter object.")

    def test_leading_zero_hint(self):
        obj = deny(event("010"))
        self.assert_refused(
            filter_args(obj), "events[0].select: '010' has a leading zero",
            hint="Write decimal numbers without leading zeros, hexadecimal "
            "ones with the prefix 0x.")

    def test_not_a_filter(self):
        self.assert_refused(["-accel", "kvm,pmu-filter=io0",
                             "-object", "iothread,id=io0"],
                            "object 'io0' is not a kvm-pmu-filter")

    def test_preconfig_without_object(self):
        """The object must exist when the accelerator is configured,
        which is before --preconfig takes QMP commands."""
        self.assert_refused(["-accel", "kvm,pmu-filter=f0", "--preconfig"],
                            "-accel kvm,pmu-filter=f0: there is no object "
                            "with ID 'f0'")

    def test_preconfig_install_error_is_the_reply(self):
        """Under --preconfig, a filter that cannot be installed fails
        x-exit-preconfig with the error, and the guest never runs."""
        with Run(filter_args(EXAMPLE_RAW) + ["--preconfig"],
                 env={"KVM_SHIM_FILTER_ERRNO": str(EINVAL)}) as run:
            qmp = run.connect()
            rsp = qmp.cmd("x-exit-preconfig")
            self.assertEqual(rsp["error"]["desc"], "KVM refused PMU event "
                             "filter 'f0': Invalid argument")
            self.assertIn("error", qmp.cmd("cont"))
            qmp.cmd("quit")
            run.wait()
            self.assertFalse(run.ran_guest())


GUEST = os.environ.get("KPF_GUEST",
                       os.path.join(TOP, "build/demo/guest.elf"))
GUEST_DONE = 33
BRANCHES = {"GenuineIntel": "0x0c4/00", "AuthenticAMD": "0x0c2/00"}


@skip_without_kvm(guest=True)
class DemoGuest(unittest.TestCase):
    """The demo guest of `make run`, under an allow-list of branches."""

    def boot(self, obj, cpu=HOST_CPU + ",pmu=on"):
        proc = subprocess.run(
            [QEMU, "-M", "pc", "-m", "64", "-display", "none", "-nodefaults",
             "-cpu", cpu, "-accel", "kvm,pmu-filter=f0", "-object",
             json.dumps(obj), "-serial", "stdio",
             "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
             "-kernel", GUEST],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, GUEST_DONE, proc.stderr)
        lines = proc.stdout.replace("\r", "").splitlines()
        self.assertEqual(lines[-1], "done")
        return lines

    def branches_only(self):
        code = BRANCHES.get(host_vendor())
        if not code:
            self.skipTest("unknown CPU vendor %r" % host_vendor())
        return code, {"qom-type": "kvm-pmu-filter", "id": "f0",
                      "action": "allow", "x86-fixed-counter":
                      {"bitmap": "0x0"},
                      "events": [{"format": "x86-default",
                                  "select": "0x" + code[2:5],
                                  "umask": "0x" + code[6:8]}]}

    def test_reports_the_host_vendor(self):
        _, obj = self.branches_only()
        lines = self.boot(obj)
        self.assertTrue(lines[2].startswith("cpu: " + host_vendor()),
                        lines)

    def test_no_vpmu_reported(self):
        if host_gives_pmu():
            self.skipTest("this host's KVM gives guests a PMU")
        _, obj = self.branches_only()
        lines = self.boot(obj)
        self.assertIn("no virtual PMU", lines[2])
        events = [line for line in lines if line.startswith("event ")]
        self.assertGreaterEqual(len(events), 4)
        self.assertTrue(all(line.endswith("not available")
                            for line in events), events)

    def test_pmu_off_means_no_vpmu(self):
        _, obj = self.branches_only()
        lines = self.boot(obj, cpu=HOST_CPU + ",pmu=off")
        self.assertIn("no virtual PMU", lines[2])

    def test_only_allowed_events_count(self):
        if not host_gives_pmu():
            self.skipTest("this host's KVM gives guests no PMU "
                          "(enable_pmu=N)")
        code, obj = self.branches_only()
        lines = self.boot(obj)
        counted = [line for line in lines if " counted (" in line]
        blocked = [line for line in lines if " blocked (0)" in line]
        self.assertEqual([line for line in counted
                          if line.startswith("event ")],
                         [line for line in lines
                          if line.startswith("event " + code)], lines)
        self.assertGreaterEqual(len(blocked), 3, lines)


if __name__ == "__main__":
    unittest.main(verbosity=2)
