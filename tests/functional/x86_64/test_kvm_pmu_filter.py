#!/usr/bin/env python3
#
# Start a KVM guest with a PMU event filter and check that QEMU installs
# it before the guest runs, and keeps it while it is in use and across a
# reset; a filter that no option names has no effect, and an -accel
# option that names one but that QEMU would ignore makes it refuse to
# start.  A switch changes the filter of a running VM, and migration
# keeps it.
#
# SPDX-License-Identifier: GPL-2.0-or-later

import json
import os
import re
import tempfile
import time

from qemu.machine.machine import VMLaunchFailure

from qemu_test import QemuSystemTest


FILTER = {
    'qom-type': 'kvm-pmu-filter',
    'id': 'f0',
    'action': 'deny',
    'x86-fixed-counter': {'bitmap': '0x1'},
    'events': [
        {'format': 'x86-default', 'select': '0xc0', 'umask': '0x00'},
        {'format': 'raw', 'code': '0x1c4'},
    ],
}


class KvmPmuFilter(QemuSystemTest):

    def setUp(self):
        super().setUp()
        self.set_machine('pc')
        self.require_accelerator('kvm')
        self.vm.add_args('-S', '-trace', 'kvm_x86_pmu_filter_*')

    def launch_failure(self):
        with self.assertRaises(VMLaunchFailure) as launch:
            self.vm.launch()
        self.assertEqual(launch.exception.exitcode, 1)
        return launch.exception.output

    def test_installed_and_in_use(self):
        self.vm.add_args('-accel', 'kvm,pmu-filter=f0',
                         '-object', json.dumps(FILTER))
        self.vm.launch()
        self.assertEqual(self.vm.qmp('query-kvm')['return']['pmu-filter'],
                         'f0')
        res = self.vm.qmp('object-del', id='f0')
        self.assertEqual(res['error']['desc'],
                         "object 'f0' is in use, can not be deleted")
        res = self.vm.qmp('qom-get', path='/objects/f0', property='events')
        self.assertEqual(res['return'], FILTER['events'])
        self.vm.shutdown()
        log = self.vm.get_log()
        self.assertIn('kvm_x86_pmu_filter_install filter f0 action deny '
                      'flags 0x0 nevents 2 fixed_counter_bitmap 0x1', log)
        self.assertIn('kvm_x86_pmu_filter_event event 0 0x00000000000000c0',
                      log)
        self.assertIn('kvm_x86_pmu_filter_event event 1 0x00000000000001c4',
                      log)

    def test_kept_across_reset(self):
        self.vm.add_args('-accel', 'kvm,pmu-filter=f0',
                         '-object', json.dumps(FILTER))
        self.vm.launch()
        self.vm.qmp('cont')
        self.assertEqual(self.vm.qmp('system_reset')['return'], {})
        self.assertEqual(self.vm.qmp('query-kvm')['return']['pmu-filter'],
                         'f0')
        self.vm.shutdown()
        self.assertEqual(self.vm.get_log().count('kvm_x86_pmu_filter_install'),
                         1)

    def test_ignored_accel_option_refused(self):
        self.vm.add_args('-accel', 'kvm', '-accel', 'kvm,pmu-filter=f0',
                         '-object', json.dumps(FILTER))
        self.assertIn("-accel kvm,pmu-filter=f0: pmu-filter=f0 would be "
                      "ignored: QEMU does not use this -accel option but one "
                      "for KVM", self.launch_failure())

    def test_filter_added_later_is_not_in_use(self):
        self.vm.add_args('-accel', 'kvm')
        self.vm.launch()
        self.assertNotIn('pmu-filter', self.vm.qmp('query-kvm')['return'])
        self.assertEqual(self.vm.qmp('object-add', **FILTER)['return'], {})
        self.assertEqual(self.vm.qmp('object-del', id='f0')['return'], {})
        self.vm.shutdown()
        self.assertNotIn('kvm_x86_pmu_filter_install', self.vm.get_log())

    def test_repeated_keys_refused(self):
        self.vm.add_args('-accel', 'kvm,pmu-filter=f0', '-object',
                         'kvm-pmu-filter,id=f0,action=allow,action=deny')
        self.assertIn("Parameter 'action' is given more than once",
                      self.launch_failure())

    def test_repeated_id_refused(self):
        self.vm.add_args('-accel', 'kvm,pmu-filter=f0', '-object',
                         'kvm-pmu-filter,id=f0,action=deny,id=f1')
        self.assertIn("Parameter 'id' is given more than once",
                      self.launch_failure())

    def test_repeated_keys_in_config_file_refused(self):
        cfg = os.path.join(self.workdir, 'filter.cfg')
        with open(cfg, 'w', encoding='utf-8') as f:
            f.write('[object "f0"]\n  qom-type = "kvm-pmu-filter"\n'
                    '  action = "allow"\n  action = "deny"\n')
        self.vm.add_args('-accel', 'kvm,pmu-filter=f0', '-readconfig', cfg)
        self.assertIn("filter.cfg: line 4: Parameter 'action' is given more "
                      "than once", self.launch_failure())

    def test_global(self):
        self.vm.add_args('-accel', 'kvm', '-global', 'kvm-accel.pmu-filter=f0',
                         '-object', json.dumps(FILTER))
        self.vm.launch()
        self.assertEqual(self.vm.qmp('query-kvm')['return']['pmu-filter'],
                         'f0')
        self.vm.shutdown()
        self.assertIn('kvm_x86_pmu_filter_install filter f0', self.vm.get_log())

    def test_global_for_unused_accelerator_refused(self):
        self.vm.add_args('-accel', 'qtest',
                         '-global', 'kvm-accel.pmu-filter=f0',
                         '-object', json.dumps(FILTER))
        self.assertIn("global kvm-accel.pmu-filter=f0 would be ignored",
                      self.launch_failure())

    def test_switch(self):
        self.vm.add_args('-accel', 'kvm,pmu-filter=f0',
                         '-object', json.dumps(FILTER))
        self.vm.launch()
        other = dict(FILTER, id='f1', action='allow')
        self.assertEqual(self.vm.qmp('object-add', **other)['return'], {})
        self.assertEqual(
            self.vm.qmp('set-kvm-pmu-filter', id='f1')['return'], {})
        self.assertEqual(self.vm.qmp('query-kvm')['return']['pmu-filter'],
                         'f1')
        self.assertEqual(self.vm.qmp('object-del', id='f0')['return'], {})
        res = self.vm.qmp('object-del', id='f1')
        self.assertEqual(res['error']['desc'],
                         "object 'f1' is in use, can not be deleted")
        res = self.vm.qmp('set-kvm-pmu-filter', id='nosuch')
        self.assertEqual(res['error']['desc'],
                         "there is no object with ID 'nosuch'")
        self.vm.shutdown()
        self.assertIn('kvm_x86_pmu_filter_install filter f1 action allow',
                      self.vm.get_log())

    def test_no_switch_before_incoming_migration(self):
        self.vm.add_args('-accel', 'kvm', '-incoming', 'defer',
                         '-object', json.dumps(FILTER))
        self.vm.launch()
        res = self.vm.qmp('set-kvm-pmu-filter', id='f0')
        self.assertEqual(res['error']['desc'],
                         'cannot change the PMU event filter while the VM '
                         'migrates or a snapshot is saved or loaded')
        self.assertNotIn('pmu-filter', self.vm.qmp('query-kvm')['return'])

    def test_missing_filter_refused(self):
        self.vm.add_args('-accel', 'kvm,pmu-filter=nosuch')
        self.assertIn("-accel kvm,pmu-filter=nosuch: there is no object "
                      "with ID 'nosuch'", self.launch_failure())

    def require_architectural_pmu(self):
        """KVM reports an architectural PMU in CPUID leaf 0xA on Intel
        hosts whose KVM gives guests a PMU"""
        with open('/proc/cpuinfo', encoding='utf-8') as cpuinfo:
            flags = cpuinfo.read()
        if 'GenuineIntel' not in flags or ' arch_perfmon' not in flags:
            self.skipTest('the host CPU has no architectural PMU')
        try:
            with open('/sys/module/kvm/parameters/enable_pmu',
                      encoding='utf-8') as param:
                if param.read().strip() != 'Y':
                    self.skipTest('KVM gives guests no PMU')
        except FileNotFoundError:
            pass

    def guest_leaf(self):
        """EBX, ECX and EDX of the CPUID leaf 0xA that QEMU gave the vCPUs
        of the shut-down VM, or None"""
        match = re.search(r'kvm_x86_pmu_filter_cpuid filter f0: CPUID 0xA '
                          r'ebx (0x\w+) ecx (0x\w+) edx (0x\w+)',
                          self.vm.get_log())
        return match and [int(reg, 16) for reg in match.groups()]

    def test_cpuid_hides_denied(self):
        self.require_architectural_pmu()
        self.vm.add_args('-cpu', 'host,pmu=on', '-accel', 'kvm,pmu-filter=f0',
                         '-object', json.dumps(FILTER))
        self.vm.launch()
        self.vm.shutdown()
        ebx, _, edx = self.guest_leaf()
        # instructions retired is architectural event 1; fixed counter 0
        # is denied, so the guest is told of no fixed counter
        self.assertTrue(ebx & 0x2)
        self.assertEqual(edx & 0x1f, 0)

    def test_cpuid_as_kvm_reports(self):
        self.require_architectural_pmu()
        self.vm.add_args('-cpu', 'host,pmu=on',
                         '-accel', 'kvm,pmu-filter=f0,pmu-filter-cpuid=off',
                         '-object', json.dumps(FILTER))
        self.vm.launch()
        self.vm.shutdown()
        self.assertIn('kvm_x86_pmu_filter_install filter f0',
                      self.vm.get_log())
        self.assertIsNone(self.guest_leaf())

    def test_switch_keeps_cpuid(self):
        self.require_architectural_pmu()
        self.vm.add_args('-cpu', 'host,pmu=on', '-accel', 'kvm,pmu-filter=f0',
                         '-object', json.dumps(FILTER))
        self.vm.launch()
        self.vm.qmp('cont')
        other = dict(FILTER, id='f1', events=[])
        self.assertEqual(self.vm.qmp('object-add', **other)['return'], {})
        self.assertEqual(
            self.vm.qmp('set-kvm-pmu-filter', id='f1')['return'], {})
        self.vm.shutdown()
        self.assertIn("vCPUs keep CPUID leaf 0xA as they started with",
                      self.vm.get_log())
        self.assertIn("PMU event filter 'f1' would give them",
                      self.vm.get_log())

    def test_unused_filter_is_harmless(self):
        self.vm.add_args('-accel', 'kvm', '-object', json.dumps(FILTER))
        self.vm.launch()
        self.assertNotIn('pmu-filter', self.vm.qmp('query-kvm')['return'])
        self.assertEqual(self.vm.qmp('object-del', id='f0')['return'], {})
        self.vm.shutdown()
        self.assertNotIn('kvm_x86_pmu_filter_install', self.vm.get_log())


class KvmPmuFilterMigration(QemuSystemTest):

    timeout = 30

    def setUp(self):
        super().setUp()
        self.set_machine('pc')
        self.require_accelerator('kvm')

    def start(self, name, pmu_filter, *args):
        vm = self.get_vm('-S', '-accel', 'kvm,pmu-filter=' + pmu_filter['id'],
                         '-object', json.dumps(pmu_filter), *args, name=name)
        vm.launch()
        return vm

    def migrate(self, dst_filter):
        """Migrate a VM with FILTER to one with @dst_filter, which exits
        if it refuses the migration; return the source's final status"""
        with tempfile.TemporaryDirectory(prefix='pmu_filter_') as tmp:
            uri = 'unix:%s/migrate.sock' % tmp
            dst = self.start('dst', dst_filter, '-incoming', uri)
            src = self.start('src', FILTER)
            src.qmp('migrate', uri=uri)
            end = time.monotonic() + self.timeout
            while (src.cmd('query-migrate')['status']
                   not in ('completed', 'failed') and
                   time.monotonic() < end):
                time.sleep(0.1)
            status = src.cmd('query-migrate')['status']
            self.assertEqual(src.cmd('query-status')['status'],
                             'postmigrate' if status == 'completed'
                             else 'prelaunch')
            return status, dst

    def test_same_filter_other_id(self):
        status, dst = self.migrate(dict(FILTER, id='f1'))
        self.assertEqual(status, 'completed')
        self.assertEqual(dst.cmd('query-kvm')['pmu-filter'], 'f1')

    def test_different_filter_refused(self):
        status, dst = self.migrate(dict(FILTER, id='f1', action='allow'))
        self.assertEqual(status, 'failed')
        dst.wait()
        self.assertIn("PMU event filter 'f0' of the migration source differs "
                      "from filter 'f1' of this destination", dst.get_log())


if __name__ == '__main__':
    QemuSystemTest.main()
