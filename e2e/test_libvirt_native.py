# SPDX-License-Identifier: GPL-2.0-or-later
"""Our libvirt series (libvirt/), built from Debian's source by make
check-libvirt, generates the filter itself from the domain XML's
<pmu><filter>: the patched daemon starts our QEMU with exactly that
filter before the guest runs, `virsh domxml-to-native` prints the
arguments, and a filter libvirt cannot honour is refused by libvirt with
its own error while no QEMU starts.  The daemons are the build tree's,
in the test's own namespace (libvirt_env.py)."""

import json
import os
import shlex
import stat
import tempfile
import unittest

import libvirt_env
from qemu_run import QEMU, SHIM, TOP, judged_shim_records, kvm_unusable
from test_pmu_filter import GUEST, expected_bytes

LV_OBJ = os.environ.get("KPF_LIBVIRT_OBJ",
                        os.path.join(TOP, "build/libvirt-obj"))
STOCK_QEMU = "/usr/bin/qemu-system-x86_64"

FILTER_XML = """\
    <pmu state='on'>
      <filter action='allow'>
        <fixed-counters bitmap='0x7'/>
        <event type='raw' code='0xc4'/>
        <event type='x86-default' select='0xc0' umask='0x00'/>
      </filter>
    </pmu>"""
# The same filter as QEMU's object: what libvirt must generate
FILTER = {"qom-type": "kvm-pmu-filter", "id": "pmufilter0",
          "action": "allow",
          "events": [{"format": "raw", "code": "0xc4"},
                     {"format": "x86-default", "select": "0xc0",
                      "umask": "0x0"}],
          "x86-fixed-counter": {"bitmap": "0x7"}}

# What a running domain switches to with virsh setpmufilter, and the same
# as QEMU's object
SWITCH_XML = """\
<filter action='deny'>
  <event type='x86-masked-entry' select='0x2e' mask='0xff' match='0x41'/>
  <event type='x86-masked-entry' select='0x2e' mask='0xf0' match='0x40'
         exclude='yes'/>
</filter>
"""
SWITCHED = {"qom-type": "kvm-pmu-filter", "id": "pmufilter1",
            "action": "deny",
            "events": [{"format": "x86-masked-entry", "select": "0x2e",
                        "mask": "0xff", "match": "0x41", "exclude": False},
                       {"format": "x86-masked-entry", "select": "0x2e",
                        "mask": "0xf0", "match": "0x40", "exclude": True}]}

DOMAIN = """\
<domain type='kvm'>
  <name>{name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{guest}</kernel>
  </os>
  <features>
{pmu}
  </features>
  <cpu mode='host-passthrough'/>
  <devices>
    <emulator>{emulator}</emulator>
    <controller type='usb' model='none'/>
    <audio id='1' type='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def unusable():
    return kvm_unusable() or libvirt_env.unusable(LV_OBJ)


@unittest.skipIf(unusable(), unusable())
class NativeLibvirt(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="kpf-native-")
        cls.shim_log = os.path.join(cls.dir.name, "shim.log")
        cls.emulator = cls.wrapper("qemu", os.path.realpath(QEMU))
        cls.stock = cls.wrapper("stock-qemu", STOCK_QEMU)
        cls.libvirt = libvirt_env.Libvirt(LV_OBJ)

    @classmethod
    def tearDownClass(cls):
        cls.libvirt.stop()
        cls.dir.cleanup()

    @classmethod
    def wrapper(cls, name, qemu):
        """An emulator that runs @qemu under the KVM shim"""
        path = os.path.join(cls.dir.name, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\nLD_PRELOAD=%s KVM_SHIM_LOG=%s exec %s \"$@\"\n"
                    % (shlex.quote(os.path.realpath(SHIM)),
                       shlex.quote(cls.shim_log), shlex.quote(qemu)))
        os.chmod(path, stat.S_IRWXU)
        return path

    def setUp(self):
        if os.path.exists(self.shim_log):
            os.unlink(self.shim_log)

    def xml_file(self, name, pmu=FILTER_XML, emulator=None):
        path = os.path.join(self.dir.name, name + ".xml")
        with open(path, "w") as f:
            f.write(DOMAIN.format(name=name, guest=GUEST, pmu=pmu,
                                  emulator=emulator or self.emulator))
        return path

    def define(self, name, **kwargs):
        rsp = self.libvirt.virsh("define", self.xml_file(name, **kwargs))
        self.assertEqual(rsp.returncode, 0, rsp.stderr)
        self.addCleanup(self.libvirt.virsh, "undefine", name)

    def records(self):
        return judged_shim_records(self.shim_log)

    def test_start_installs_the_filter(self):
        self.define("native")
        rsp = self.libvirt.virsh("start", "native")
        self.assertEqual(rsp.returncode, 0, rsp.stderr)
        self.assertEqual(self.libvirt.installed_filter("native"),
                         "pmufilter0")
        live = self.libvirt.virsh("dumpxml", "native").stdout
        self.libvirt.virsh("destroy", "native")
        records = self.records()
        self.assertEqual(records[0], ("filter", expected_bytes(FILTER).hex()))
        self.assertIn(("run",), [r[:1] for r in records[1:]])
        self.assertIn("<event type='x86-default' select='0xc0' "
                      "umask='0x0'/>", live)
        print("\ncaptured filter: " + records[0][1])

    def setpmufilter(self, domain, xml, *flags):
        path = os.path.join(self.dir.name, "filter.xml")
        with open(path, "w") as f:
            f.write(xml)
        return self.libvirt.virsh("setpmufilter", domain, path, *flags)

    def objects(self, domain):
        """The IDs of the kvm-pmu-filter objects in @domain's QEMU"""
        rsp = self.libvirt.virsh("qemu-monitor-command", domain,
                                 '{"execute": "qom-list", '
                                 '"arguments": {"path": "/objects"}}')
        self.assertEqual(rsp.returncode, 0, rsp.stderr)
        return sorted(p["name"] for p in json.loads(rsp.stdout)["return"]
                      if p["type"] == "child<kvm-pmu-filter>")

    def test_switch_a_running_domain(self):
        self.define("switch")
        rsp = self.libvirt.virsh("start", "switch")
        self.assertEqual(rsp.returncode, 0, rsp.stderr)
        rsp = self.setpmufilter("switch", SWITCH_XML, "--live")
        self.assertEqual(rsp.returncode, 0, rsp.stderr)
        installed = self.libvirt.installed_filter("switch")
        objects = self.objects("switch")
        live = self.libvirt.virsh("dumpxml", "switch").stdout
        inactive = self.libvirt.virsh("dumpxml", "--inactive", "switch").stdout
        mixed = SWITCH_XML.replace("<event", "<event type='raw' code='0xc4'/>"
                                   "<event", 1)
        refused = self.setpmufilter("switch", mixed, "--live")
        misspelt = self.setpmufilter("switch", SWITCH_XML.replace(
            "<event", "<evnt", 1).replace("/>", "></evnt>", 1), "--live")
        namespaced = self.setpmufilter("switch", SWITCH_XML.replace(
            "<filter", "<filter xmlns='urn:x'", 1), "--live")
        after_refusal = self.libvirt.installed_filter("switch")
        back = self.setpmufilter("switch", "<filter action='allow'>"
                                 "<fixed-counters bitmap='0x7'/>"
                                 "<event type='raw' code='0xc4'/>"
                                 "<event type='x86-default' select='0xc0' "
                                 "umask='0x00'/></filter>", "--live")
        back_installed = self.libvirt.installed_filter("switch")
        back_objects = self.objects("switch")
        self.libvirt.virsh("destroy", "switch")

        self.assertEqual(installed, "pmufilter1")
        self.assertEqual(objects, ["pmufilter1"])
        self.assertIn("<event type='x86-masked-entry' select='0x2e' "
                      "mask='0xf0' match='0x40' exclude='yes'/>", live)
        self.assertNotIn("x86-masked-entry", inactive)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("cannot be mixed with events of other types",
                      refused.stderr)
        self.assertNotEqual(misspelt.returncode, 0)
        self.assertIn("unexpected element 'evnt'", misspelt.stderr)
        self.assertNotEqual(namespaced.returncode, 0)
        self.assertIn("unexpected element 'event'", namespaced.stderr)
        self.assertEqual(after_refusal, "pmufilter1")
        self.assertEqual(back.returncode, 0, back.stderr)
        self.assertEqual((back_installed, back_objects),
                         ("pmufilter0", ["pmufilter0"]))
        filters = [r[1] for r in self.records() if r[0] == "filter"]
        self.assertEqual(filters, [expected_bytes(FILTER).hex(),
                                   expected_bytes(SWITCHED).hex(),
                                   expected_bytes(FILTER).hex()])
        print("\nswitched to: " + filters[1])

    def test_give_a_filter_to_a_running_domain(self):
        """A domain started without a filter gets one, live and in its
        persistent definition at once"""
        self.define("unfiltered", pmu="    <pmu state='on'/>")
        rsp = self.libvirt.virsh("start", "unfiltered")
        self.assertEqual(rsp.returncode, 0, rsp.stderr)
        rsp = self.setpmufilter("unfiltered", SWITCH_XML, "--live",
                                "--config")
        installed = self.libvirt.installed_filter("unfiltered")
        inactive = self.libvirt.virsh("dumpxml", "--inactive",
                                      "unfiltered").stdout
        self.libvirt.virsh("destroy", "unfiltered")
        self.assertEqual(rsp.returncode, 0, rsp.stderr)
        self.assertEqual(installed, "pmufilter0")
        self.assertIn("<filter action='deny'>", inactive)
        self.assertEqual([r[1] for r in self.records() if r[0] == "filter"],
                         [expected_bytes(dict(SWITCHED,
                                              id="pmufilter0")).hex()])

    def test_switch_the_persistent_definition(self):
        """--config changes nothing that runs; the next start installs
        the new filter"""
        self.define("persistent")
        rsp = self.setpmufilter("persistent", SWITCH_XML, "--config")
        self.assertEqual(rsp.returncode, 0, rsp.stderr)
        self.assertEqual(self.records(), [])
        rsp = self.libvirt.virsh("start", "persistent")
        self.assertEqual(rsp.returncode, 0, rsp.stderr)
        self.libvirt.virsh("destroy", "persistent")
        self.assertEqual([r[1] for r in self.records() if r[0] == "filter"],
                         [expected_bytes(dict(SWITCHED,
                                              id="pmufilter0")).hex()])

    def test_domxml_to_native(self):
        rsp = self.libvirt.virsh("domxml-to-native", "qemu-argv",
                                 self.xml_file("argv"))
        self.assertEqual(rsp.returncode, 0, rsp.stderr)
        args = shlex.split(rsp.stdout)
        objects = [json.loads(args[i + 1]) for i, a in enumerate(args)
                   if a == "-object" and "kvm-pmu-filter" in args[i + 1]]
        self.assertEqual(objects, [FILTER])
        accel = [args[i + 1] for i, a in enumerate(args) if a == "-accel"]
        self.assertEqual(accel, ["kvm,pmu-filter=pmufilter0"])
        self.assertNotIn("-global", args)
        print("\nlibvirt's arguments: -object %s -accel %s"
              % (shlex.quote(json.dumps(objects[0], separators=(",", ":"))),
                 accel[0]))

    def refused(self, name, message, **kwargs):
        """libvirt refuses the domain, when it is defined or at the
        latest when it is started, with its own error; no QEMU runs"""
        rsp = self.libvirt.virsh("define", self.xml_file(name, **kwargs))
        if rsp.returncode == 0:
            self.addCleanup(self.libvirt.virsh, "undefine", name)
            rsp = self.libvirt.virsh("start", name)
            self.assertIn("shut off",
                          self.libvirt.virsh("domstate", name).stdout)
        self.assertNotEqual(rsp.returncode, 0)
        self.assertIn(message, rsp.stderr)
        self.assertNotIn("qemu-system-x86_64:", rsp.stderr)
        self.assertEqual(self.records(), [])

    def test_mixed_formats_refused_by_libvirt(self):
        pmu = FILTER_XML.replace(
            "<event type='raw' code='0xc4'/>",
            "<event type='x86-masked-entry' select='0x2e' mask='0xff' "
            "match='0x41'/>")
        self.refused("mixed", "PMU events of type 'x86-masked-entry' "
                           "cannot be mixed with events of other types",
                           pmu=pmu)

    def test_out_of_range_refused_by_libvirt(self):
        pmu = FILTER_XML.replace("select='0xc0'", "select='0x1000'")
        self.refused("range", "Invalid value for attribute 'select' in "
                     "element 'event': '0x1000'", pmu=pmu)

    def test_pmu_off_refused_by_libvirt(self):
        pmu = FILTER_XML.replace("state='on'", "state='off'")
        self.refused("pmu-off", "a PMU event filter needs the PMU", pmu=pmu)

    def test_qemu_without_filters_refused(self):
        if not os.access(STOCK_QEMU, os.X_OK):
            self.skipTest("Debian's qemu-system-x86 is not installed")
        self.refused("stock", "PMU event filters are not supported "
                           "with this QEMU binary", emulator=self.stock)


if __name__ == "__main__":
    unittest.main()
