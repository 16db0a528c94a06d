# SPDX-License-Identifier: GPL-2.0-or-later
"""libvirt from Debian drives the patched QEMU: the domain XML of the
documentation starts a guest with exactly its filter, and the forms
that cannot work make `virsh start` fail with QEMU's one error line.
The libvirtd and virtlogd are the test's own (libvirt_env.py)."""

import os
import re
import shlex
import stat
import tempfile
import textwrap
import unittest

import libvirt_env
from qemu_run import (QEMU, SANITIZER_REPORT, STAND_IN, TOP, X86_FAKE_KVM,
                      judged_shim_records, kvm_in_use,
                      kvm_or_stand_in_unusable, kvm_preload)
from test_pmu_filter import expected_bytes

DOC = os.path.join(TOP, "docs/system/kvm-pmu-filter.rst")
FILTER = {"qom-type": "kvm-pmu-filter", "id": "f0", "action": "allow",
          "x86-fixed-counter": {"bitmap": "0x7"},
          "events": [{"format": "x86-default", "select": "0xc4",
                      "umask": "0x00"}]}


def documented_xml():
    """The domain XML of the "With libvirt" section of the docs."""
    with open(DOC) as f:
        text = f.read()
    block = text.split("With libvirt\n", 1)[1].split(".. code-block:: xml")[1]
    lines = []
    for line in block.splitlines()[1:]:
        if line and not line.startswith(" "):
            break
        lines.append(line)
    return textwrap.dedent("\n".join(lines)).strip() + "\n"


def unusable():
    """Why the libvirt tests cannot run here, or None."""
    if os.environ.get("KPF_SANITIZED"):
        # seen: libvirt's capability probe of the ASan build never ends
        return ("libvirt probes the emulator without the sanitizers' "
                "options; make check runs these tests")
    return kvm_or_stand_in_unusable() or libvirt_env.unusable()


@unittest.skipIf(unusable(), unusable())
class Libvirt(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        print("\ndomains run on %s" % kvm_in_use())
        cls.libvirt = libvirt_env.Libvirt(
            fake_kvm=os.path.realpath(X86_FAKE_KVM) if STAND_IN else None)
        cls.dir = tempfile.TemporaryDirectory(prefix="kpf-domains-")
        cls.emulator = cls.wrapper()

    @classmethod
    def tearDownClass(cls):
        cls.libvirt.stop()
        cls.dir.cleanup()

    @classmethod
    def wrapper(cls):
        """Our QEMU, preloading what gives it the domains' KVM, also when
        libvirt probes it"""
        path = os.path.join(cls.dir.name, "bin", "qemu-system-x86_64")
        os.makedirs(os.path.dirname(path))
        with open(path, "w") as f:
            f.write("#!/bin/sh\nLD_PRELOAD=%s exec %s \"$@\"\n"
                    % (shlex.quote(kvm_preload()),
                       shlex.quote(os.path.realpath(QEMU))))
        os.chmod(path, stat.S_IRWXU)
        return path

    def domain(self, name, xml):
        """Define domain @name from @xml, run by our QEMU on the domains'
        KVM, which logs to the file returned"""
        kvm_log = os.path.join(self.dir.name, name + ".kvm")
        xml = xml.replace("<name>pmu-filter</name>", "<name>%s</name>" % name)
        xml = re.sub("<emulator>.*</emulator>", "<emulator>%s</emulator>" %
                     self.emulator, xml)
        xml = xml.replace("</qemu:commandline>",
                          "  <qemu:env name='KVM_SHIM_LOG' value='%s'/>\n  "
                          "</qemu:commandline>" % kvm_log)
        path = os.path.join(self.dir.name, name + ".xml")
        with open(path, "w") as f:
            f.write(xml)
        rsp = self.libvirt.virsh("define", path)
        self.assertEqual(rsp.returncode, 0, rsp.stderr)
        self.addCleanup(self.libvirt.virsh, "undefine", name)
        return kvm_log

    def filters(self, kvm_log):
        """The filters QEMU handed to KVM, in hex, in order"""
        return [r[1] for r in judged_shim_records(kvm_log)
                if r[0] == "filter"]

    def domain_log(self, name):
        with open(self.libvirt.path("/var/log/libvirt/qemu/%s.log" % name),
                  errors="replace") as f:
            return f.read()

    def start_fails(self, name, xml):
        kvm_log = self.domain(name, xml)
        rsp = self.libvirt.virsh("start", name)
        self.assertNotEqual(rsp.returncode, 0)
        errors = [line for line in rsp.stderr.splitlines()
                  if "qemu-system-x86_64: " in line and
                  "warning: " not in line]
        self.assertEqual(len(errors), 1, rsp.stderr)
        self.assertEqual(judged_shim_records(kvm_log), [])
        self.assertIn("shut off", self.libvirt.virsh("domstate",
                                                      name).stdout)
        return errors[0]

    def test_documented_xml(self):
        xml = documented_xml()
        self.assertIn("<qemu:arg value='kvm-accel.pmu-filter=f0'/>", xml)
        kvm_log = self.domain("pmu-filter", xml)
        rsp = self.libvirt.virsh("start", "pmu-filter")
        self.assertEqual(rsp.returncode, 0, rsp.stderr)
        self.assertEqual(self.libvirt.installed_filter("pmu-filter"), "f0")
        self.libvirt.virsh("destroy", "--graceful", "pmu-filter")
        self.assertEqual(self.filters(kvm_log),
                         [expected_bytes(FILTER).hex()])
        log = self.domain_log("pmu-filter")
        cmdline = log[log.index("qemu-system-x86_64 \\"):
                      log.index("-msg timestamp=on")]
        # "time kvm_..." from QEMU 10.2, "pid@time:kvm_..." from 10.0
        traces = [line for line in log.splitlines()
                  if re.search(r"[ :]kvm_x86_pmu_filter_", line)]
        print("\nlibvirt's command line:\n" + cmdline)
        print("trace lines in the domain log:\n" + "\n".join(traces))
        self.assertIn("-accel kvm \\", cmdline)
        self.assertIsNone(SANITIZER_REPORT.search(log), log)
        self.assertTrue(any(line.endswith(
            "kvm_x86_pmu_filter_install filter f0 action allow flags 0x0 "
            "nevents 1 fixed_counter_bitmap 0x7") for line in traces), traces)
        self.assertTrue(any(line.endswith(
            "kvm_x86_pmu_filter_event event 0 0x00000000000000c4")
            for line in traces), traces)

    def test_accel_passthrough_refused(self):
        xml = documented_xml().replace(
            "<qemu:arg value='-global'/>\n    <qemu:arg value="
            "'kvm-accel.pmu-filter=f0'/>",
            "<qemu:arg value='-accel'/>\n    <qemu:arg value="
            "'kvm,pmu-filter=f0'/>")
        self.assertIn("kvm,pmu-filter=f0", xml)
        error = self.start_fails("accel-passthrough", xml)
        self.assertIn("qemu-system-x86_64: -accel kvm,pmu-filter=f0: "
                      "pmu-filter=f0 would be ignored: QEMU does not use "
                      "this -accel option but one for KVM", error)

    def test_bad_filter_refused(self):
        xml = documented_xml().replace('"select": "0xc4"',
                                       '"select": "0xc4g"')
        error = self.start_fails("bad-filter", xml)
        self.assertIn("qemu-system-x86_64: events[0].select: '0xc4g' is not "
                      "a number", error)

    def test_object_alone_is_harmless(self):
        xml = documented_xml().replace(
            "<qemu:arg value='-global'/>\n    <qemu:arg value="
            "'kvm-accel.pmu-filter=f0'/>\n", "")
        self.assertNotIn("kvm-accel", xml)
        kvm_log = self.domain("object-alone", xml)
        rsp = self.libvirt.virsh("start", "object-alone")
        self.assertEqual(rsp.returncode, 0, rsp.stderr)
        self.assertIsNone(self.libvirt.installed_filter("object-alone"))
        self.libvirt.virsh("destroy", "--graceful", "object-alone")
        self.assertEqual(self.filters(kvm_log), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
