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
import subprocess
import tempfile
import time
import unittest

import libvirt_env
from qemu_run import (QEMU, STAND_IN, TOP, X86_FAKE_KVM, judged_shim_records,
                      kvm_in_use, kvm_or_stand_in_unusable, kvm_preload)
from test_pmu_filter import GUEST, expected_bytes

PROXY = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                     "qmp_proxy.py")
LV_OBJ = os.environ.get("KPF_LIBVIRT_OBJ",
                        os.path.join(TOP, "build/libvirt-obj"))
STOCK_QEMU = "/usr/bin/qemu-system-x86_64"

FILTER_XML = """\
    <pmu state='on'>
      <filter action='allow'>
        <fixedCounters bitmap='0x7'/>
        <event type='raw' code='0xc4'/>
        <event type='selectUmask' select='0xc0' umask='0x00'/>
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
  <event type='masked' select='0x2e' mask='0xff' match='0x41'/>
  <event type='masked' select='0x2e' mask='0xf0' match='0x40'
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
    return kvm_or_stand_in_unusable() or libvirt_env.unusable(LV_OBJ)


@unittest.skipIf(unusable(), unusable())
class NativeLibvirt(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="kpf-native-")
        cls.kvm_log = os.path.join(cls.dir.name, "shim.log")
        print("\ndomains run on %s" % kvm_in_use())
        cls.emulator = cls.wrapper("qemu", os.path.realpath(QEMU),
                                   proxy=True)
        cls.stock = cls.wrapper("stock-qemu", STOCK_QEMU)
        cls.libvirt = libvirt_env.Libvirt(
            LV_OBJ,
            fake_kvm=os.path.realpath(X86_FAKE_KVM) if STAND_IN else None)

    @classmethod
    def tearDownClass(cls):
        cls.libvirt.stop()
        cls.dir.cleanup()

    @classmethod
    def wrapper(cls, name, qemu, proxy=False):
        """An emulator that runs @qemu on the domains' KVM, with @proxy
        behind the QMP proxy (qmp_proxy.py) whose faults the tests set"""
        path = os.path.join(cls.dir.name, name)
        preload = shlex.quote(kvm_preload())
        if proxy:
            run = "python3 %s --dir %s --preload %s -- %s" % (
                shlex.quote(PROXY), shlex.quote(cls.dir.name), preload,
                shlex.quote(qemu))
        else:
            run = "env LD_PRELOAD=%s %s" % (preload, shlex.quote(qemu))
        with open(path, "w") as f:
            f.write("#!/bin/sh\nKVM_SHIM_LOG=%s exec %s \"$@\"\n"
                    % (shlex.quote(cls.kvm_log), run))
        os.chmod(path, stat.S_IRWXU)
        return path

    def setUp(self):
        if os.path.exists(self.kvm_log):
            os.unlink(self.kvm_log)
        log = os.path.join(self.dir.name, "proxy.log")
        self.proxy_log_start = os.path.getsize(log) if os.path.exists(log) \
            else 0

    def faults(self, *names):
        """Make the QMP proxy inject @names (qmp_proxy.py)"""
        path = os.path.join(self.dir.name, "faults")
        with open(path, "w") as f:
            f.write("\n".join(names))
        self.addCleanup(lambda: os.path.exists(path) and os.unlink(path))

    def proxy_log(self):
        """What the QMP proxies logged since this test began"""
        path = os.path.join(self.dir.name, "proxy.log")
        if not os.path.exists(path):
            return ""
        with open(path) as f:
            f.seek(self.proxy_log_start)
            return f.read()

    def state(self, domain):
        return self.libvirt.virsh("domstate", "--reason",
                                  domain).stdout.strip()

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
        return judged_shim_records(self.kvm_log)

    def installed_filters(self):
        """The filters QEMU handed to KVM, in hex, in order"""
        return [r[1] for r in self.records() if r[0] == "filter"]

    def test_start_installs_the_filter(self):
        self.define("native")
        rsp = self.libvirt.virsh("start", "native")
        self.assertEqual(rsp.returncode, 0, rsp.stderr)
        self.assertEqual(self.libvirt.installed_filter("native"),
                         "pmufilter0")
        live = self.libvirt.virsh("dumpxml", "native").stdout
        self.libvirt.virsh("destroy", "native")
        kinds = [r[0] for r in self.records()]
        self.assertEqual(self.installed_filters(),
                         [expected_bytes(FILTER).hex()])
        self.assertLess(kinds.index("filter"), kinds.index("run"))
        self.assertIn("<event type='selectUmask' select='0xc0' "
                      "umask='0x0'/>", live)
        print("\ncaptured filter: " + self.installed_filters()[0])

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
        # in a deny-list, the entry meant to take events out of the list
        # would deny them
        misspelt_attr = self.setpmufilter("switch", SWITCH_XML.replace(
            "exclude=", "exlude="), "--live")
        after_refusal = self.libvirt.installed_filter("switch")
        back = self.setpmufilter("switch", "<filter action='allow'>"
                                 "<fixedCounters bitmap='0x7'/>"
                                 "<event type='raw' code='0xc4'/>"
                                 "<event type='selectUmask' select='0xc0' "
                                 "umask='0x00'/></filter>", "--live")
        back_installed = self.libvirt.installed_filter("switch")
        back_objects = self.objects("switch")
        self.libvirt.virsh("destroy", "switch")

        self.assertEqual(installed, "pmufilter1")
        self.assertEqual(objects, ["pmufilter1"])
        self.assertIn("<event type='masked' select='0x2e' "
                      "mask='0xf0' match='0x40' exclude='yes'/>", live)
        self.assertNotIn("type='masked'", inactive)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("cannot be mixed with events of other types",
                      refused.stderr)
        self.assertNotEqual(misspelt.returncode, 0)
        self.assertIn("unexpected element 'evnt'", misspelt.stderr)
        self.assertNotEqual(namespaced.returncode, 0)
        self.assertIn("unexpected namespace 'urn:x'", namespaced.stderr)
        self.assertNotEqual(misspelt_attr.returncode, 0)
        self.assertIn("unexpected attribute 'exlude'", misspelt_attr.stderr)
        self.assertEqual(after_refusal, "pmufilter1")
        self.assertEqual(back.returncode, 0, back.stderr)
        self.assertEqual((back_installed, back_objects),
                         ("pmufilter0", ["pmufilter0"]))
        filters = self.installed_filters()
        self.assertEqual(filters, [expected_bytes(FILTER).hex(),
                                   expected_bytes(SWITCHED).hex(),
                                   expected_bytes(FILTER).hex()])
        print("\nswitched to: " + filters[1])

    def test_resume_refused_while_the_filter_is_unknown(self):
        """QEMU installs the new filter, but query-kvm cannot say so: the
        domain is paused, and resumes only once query-kvm settles which
        filter it has, with that filter in its live XML"""
        self.define("unknown")
        rsp = self.libvirt.virsh("start", "unknown")
        self.assertEqual(rsp.returncode, 0, rsp.stderr)
        self.faults("query-kvm-fails-after-set")
        switch = self.setpmufilter("unknown", SWITCH_XML, "--live")
        paused = self.state("unknown")
        refused = self.libvirt.virsh("resume", "unknown")
        state_refused = self.state("unknown")
        live_refused = self.libvirt.virsh("dumpxml", "unknown").stdout
        os.unlink(os.path.join(self.dir.name, "faults"))
        resumed = self.libvirt.virsh("resume", "unknown")
        state_resumed = self.state("unknown")
        live = self.libvirt.virsh("dumpxml", "unknown").stdout
        self.libvirt.virsh("destroy", "unknown")

        self.assertNotEqual(switch.returncode, 0)
        self.assertEqual(paused, "paused (api error)")
        self.assertNotEqual(refused.returncode, 0, refused.stdout)
        self.assertIn("PMU event filter", refused.stderr)
        self.assertEqual(state_refused, "paused (api error)")
        self.assertNotIn("type='masked'", live_refused)
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        self.assertEqual(state_resumed, "running (unpaused)")
        self.assertIn("<filter action='deny'>", live)
        self.assertEqual(self.installed_filters(),
                         [expected_bytes(FILTER).hex(),
                          expected_bytes(SWITCHED).hex()])

    def test_failed_pause_stops_the_domain(self):
        """A guest whose filter is unknown and that cannot be paused does
        not run on"""
        self.define("unpausable")
        rsp = self.libvirt.virsh("start", "unpausable")
        self.assertEqual(rsp.returncode, 0, rsp.stderr)
        self.faults("query-kvm-fails-after-set", "stop-fails")
        switch = self.setpmufilter("unpausable", SWITCH_XML, "--live")
        state = self.state("unpausable")
        self.libvirt.virsh("destroy", "unpausable")
        self.assertNotEqual(switch.returncode, 0)
        self.assertTrue(state.startswith("shut off"), state)
        self.assertIn("injected an error for stop", self.proxy_log())

    def crash_mid_switch(self, domain, *faults):
        """Kill libvirtd once QEMU has run set-kvm-pmu-filter but before
        libvirt hears of it; restart it with @faults"""
        self.define(domain)
        rsp = self.libvirt.virsh("start", domain)
        self.assertEqual(rsp.returncode, 0, rsp.stderr)
        self.faults("hold-set-reply")
        path = os.path.join(self.dir.name, "filter.xml")
        with open(path, "w") as f:
            f.write(SWITCH_XML)
        switch = subprocess.Popen(
            ["nsenter", "-t", str(self.libvirt.holder.pid), "-m", "--"] +
            self.libvirt.tool("virsh") +
            ["-c", "qemu:///system", "setpmufilter", domain, path, "--live"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while "held the reply" not in self.proxy_log():
            self.assertLess(time.time(), deadline, self.proxy_log())
            time.sleep(0.05)
        self.libvirt.kill_libvirtd()
        switch.wait()
        self.faults(*faults)
        self.libvirt.start_libvirtd()
        # the reconnection runs in a thread of its own
        deadline = time.time() + 30
        while "libvirt connected" not in self.proxy_log().split(
                "libvirt disconnected")[-1]:
            self.assertLess(time.time(), deadline, self.proxy_log())
            time.sleep(0.05)
        time.sleep(1)

    def test_reconnect_after_a_crash_mid_switch(self):
        """The daemon dies after QEMU switched filters, before the status
        XML says so: the restarted daemon asks query-kvm and shows the
        filter that QEMU has"""
        self.crash_mid_switch("crash")
        state = self.state("crash")
        live = self.libvirt.virsh("dumpxml", "crash").stdout
        installed = self.libvirt.installed_filter("crash")
        objects = self.objects("crash")
        self.libvirt.virsh("destroy", "crash")
        self.assertEqual(installed, "pmufilter1")
        self.assertIn("<filter action='deny'>", live)
        self.assertEqual(state, "running (booted)")
        self.assertEqual(objects, ["pmufilter1"])

    def test_reconnect_pauses_a_domain_whose_filter_is_unknown(self):
        """The restarted daemon cannot learn which filter QEMU has: the
        domain is paused, and its resume refused"""
        self.crash_mid_switch("crash-unknown", "query-kvm-fails")
        state = self.state("crash-unknown")
        refused = self.libvirt.virsh("resume", "crash-unknown")
        os.unlink(os.path.join(self.dir.name, "faults"))
        resumed = self.libvirt.virsh("resume", "crash-unknown")
        live = self.libvirt.virsh("dumpxml", "crash-unknown").stdout
        self.libvirt.virsh("destroy", "crash-unknown")
        self.assertEqual(state, "paused (api error)")
        self.assertNotEqual(refused.returncode, 0)
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        self.assertIn("<filter action='deny'>", live)

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
        self.assertEqual(self.installed_filters(),
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
        self.assertEqual(self.installed_filters(),
                         [expected_bytes(dict(SWITCHED,
                                              id="pmufilter0")).hex()])

    def test_remove_the_filter(self):
        """QEMU cannot uninstall a filter: removing the running domain's is
        refused and changes nothing; the persistent definition loses its
        filter, and the next start has none"""
        self.define("remove")
        rsp = self.libvirt.virsh("start", "remove")
        self.assertEqual(rsp.returncode, 0, rsp.stderr)
        live = self.libvirt.virsh("setpmufilter", "remove", "--remove",
                                  "--live")
        installed = self.libvirt.installed_filter("remove")
        config = self.libvirt.virsh("setpmufilter", "remove", "--remove",
                                    "--config")
        inactive = self.libvirt.virsh("dumpxml", "--inactive",
                                      "remove").stdout
        self.libvirt.virsh("destroy", "remove")
        restart = self.libvirt.virsh("start", "remove")
        after = self.libvirt.installed_filter("remove")
        self.libvirt.virsh("destroy", "remove")

        self.assertNotEqual(live.returncode, 0)
        self.assertIn("cannot remove the PMU event filter of a running "
                      "domain", live.stderr)
        self.assertEqual(installed, "pmufilter0")
        self.assertEqual(config.returncode, 0, config.stderr)
        self.assertNotIn("<filter", inactive)
        self.assertEqual(restart.returncode, 0, restart.stderr)
        self.assertIsNone(after)

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
            "<event type='masked' select='0x2e' mask='0xff' "
            "match='0x41'/>")
        self.refused("mixed", "PMU events of type 'masked' "
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
