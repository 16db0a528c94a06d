# SPDX-License-Identifier: GPL-2.0-or-later
"""Nothing changes for command lines without a PMU filter.

Each command line below names no filter: repeated keys in -object,
-readconfig groups, -machine, -accel, -drive and -netdev, a second
-accel that QEMU does not use, -global for accelerator properties that
are not a filter, the monitor's view of KVM.  Run it with
the patched QEMU and with QEMU built from the tree the series sits on
(harness/pristine.sh), and compare the exit status, everything printed
and what the QMP commands answered.  No KVM needed: the machines run on
the qtest accelerator, which needs no guest.
"""

import os
import subprocess
import tempfile
import unittest

from qemu_run import QEMU, TOP

PRISTINE = os.environ.get("PRISTINE_QEMU",
                          os.path.join(TOP, "build/pristine-obj/"
                                       "qemu-system-x86_64"))
BASE = ["-display", "none", "-nodefaults", "-M", "none", "-accel", "qtest"]
# What the monitor is asked after start-up, then quit
QMP = [
    '{"execute": "qmp_capabilities"}',
    '{"execute": "qom-get", "arguments": {"path": "/objects/io0",'
    ' "property": "poll-max-ns"}}',
    '{"execute": "query-kvm"}',
    '{"execute": "human-monitor-command",'
    ' "arguments": {"command-line": "info kvm"}}',
    '{"execute": "quit"}',
]

CONFIG_FILES = {
    "machine.cfg": '[machine]\n  type = "none"\n  type = "none"\n',
    "object.cfg": '[object "io0"]\n  qom-type = "iothread"\n'
                  '  poll-max-ns = "1"\n  poll-max-ns = "2"\n',
    "object-id.cfg": '[object "io0"]\n  qom-type = "iothread"\n'
                     '  id = "io1"\n',
    "drive.cfg": '[drive]\n  if = "none"\n  driver = "null-co"\n'
                 '  driver = "null-co"\n',
    "accel.cfg": '[accel]\n  accel = "kvm"\n  accel = "kvm"\n',
    "global-no-property.cfg": '[global]\n  driver = "no-such-device"\n'
                              '  value = "x"\n',
    "global-no-driver.cfg": '[global]\n  property = "kernel-irqchip"\n'
                            '  value = "x"\n',
}

COMMAND_LINES = [
    ["-object", "iothread,id=io0,poll-max-ns=1,poll-max-ns=2"],
    ["-object", "iothread,id=io0,id=io1"],
    ["-object", "iothread,id=io0,noid"],
    ["-object", "memory-backend-ram,id=m0,size=1M,size=2M"],
    ["-object", "memory-backend-ram,id=m0,size=1M,host-nodes=0,"
                "host-nodes=0,policy=bind"],
    ["-object", '{"qom-type": "iothread", "id": "io0",'
                ' "poll-max-ns": 1, "poll-max-ns": 2}'],
    ["-readconfig", "{dir}/machine.cfg"],
    ["-readconfig", "{dir}/object.cfg"],
    ["-readconfig", "{dir}/object-id.cfg"],
    ["-readconfig", "{dir}/drive.cfg"],
    ["-readconfig", "{dir}/accel.cfg"],
    ["-readconfig", "{dir}/global-no-property.cfg"],
    ["-readconfig", "{dir}/global-no-driver.cfg"],
    ["-machine", "none,dump-guest-core=on,dump-guest-core=off"],
    ["-machine", "dump-guest-core=on", "-machine", "dump-guest-core=off"],
    ["-accel", "qtest,thread=single"],
    ["-accel", "kvm"],
    ["-accel", "kvm,dirty-ring-size=4096,dirty-ring-size=8192"],
    ["-accel", "nosuch,pmu-filtr=f0"],
    ["-drive", "if=none,id=d0,driver=null-co,driver=null-co"],
    ["-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:0-:22,"
                "hostfwd=tcp:127.0.0.1:0-:23"],
    ["-netdev", "user,id=n0,ipv4=on,ipv4=off"],
    ["-global", "kvm-accel.kernel-irqchip=split"],
    ["-global", "kvm-accel.dirty-ring-size=nonsense"],
    ["-global", "qtest-accel.nosuch=1"],
    ["-global", "accel.nosuch=1"],
    ["-global", "tcg-accel.tb-size=abc"],
    ["-global", "kvm.dirty-ring-size=4096"],
    ["-global", "driver=kvm-accel,property=kernel-irqchip,value=off"],
]


def pristine_missing():
    if not os.access(PRISTINE, os.X_OK):
        return "%s is missing (harness/pristine.sh builds it)" % PRISTINE
    return None


def run(qemu, args):
    """Exit status, output and monitor answers of @qemu with @args"""
    proc = subprocess.run([qemu] + BASE + args + ["-qmp", "stdio"],
                          input="\n".join(QMP) + "\n", capture_output=True,
                          text=True, timeout=60)
    lines = [line for line in proc.stdout.splitlines()
             if '"timestamp"' not in line]
    return proc.returncode, proc.stderr, lines


@unittest.skipIf(pristine_missing(), pristine_missing())
class Compat(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="kpf-compat-")
        for name, text in CONFIG_FILES.items():
            with open(os.path.join(cls.tmp.name, name), "w") as f:
                f.write(text)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_same_as_pristine(self):
        for args in COMMAND_LINES:
            args = [a.replace("{dir}", self.tmp.name) for a in args]
            with self.subTest(args=" ".join(args)):
                self.assertEqual(run(QEMU, args), run(PRISTINE, args))

    def test_compares_something(self):
        """The comparison sees differences: a filter option that the
        patched QEMU knows and the pristine one does not"""
        args = ["-object", "kvm-pmu-filter,id=f0,action=allow,action=deny"]
        patched, pristine = run(QEMU, args), run(PRISTINE, args)
        self.assertNotEqual(patched, pristine)
        self.assertIn("Parameter 'action' is given more than once",
                      patched[1])

    def test_first_unexpected_key_named(self):
        """The one message that set 0-qobject changes on purpose: of
        several unexpected keys, the first one written is named"""
        for keys in (("zeta", "alpha"), ("alpha", "zeta")):
            obj = '{"qom-type": "iothread", "id": "io0", "%s": 1, "%s": 2}'
            status, err, _ = run(QEMU, ["-object", obj % keys])
            self.assertEqual(status, 1)
            self.assertIn("Parameter '%s' is unexpected" % keys[0], err)
