#!/usr/bin/env python3
#
# Start a KVM guest with a PMU event filter and check that QEMU installs
# it before the guest runs, and keeps it while it is in use.
#
# SPDX-License-Identifier: GPL-2.0-or-later

import json

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
        self.assertIn('kvm_x86_pmu_filter_install filter f0 action 1 '
                      'flags 0x0 nevents 2 fixed_counter_bitmap 0x1', log)
        self.assertIn('kvm_x86_pmu_filter_event event 0 0x00000000000000c0',
                      log)
        self.assertIn('kvm_x86_pmu_filter_event event 1 0x00000000000001c4',
                      log)

    def test_filter_added_later_is_not_in_use(self):
        self.vm.add_args('-accel', 'kvm')
        self.vm.launch()
        self.assertNotIn('pmu-filter', self.vm.qmp('query-kvm')['return'])
        self.assertEqual(self.vm.qmp('object-add', **FILTER)['return'], {})
        self.assertEqual(self.vm.qmp('object-del', id='f0')['return'], {})
        self.vm.shutdown()
        self.assertNotIn('kvm_x86_pmu_filter_install', self.vm.get_log())

    def test_missing_filter_refused(self):
        self.vm.add_args('-accel', 'kvm,pmu-filter=nosuch')
        self.assertIn("-accel kvm,pmu-filter=nosuch: there is no object "
                      "with ID 'nosuch'", self.launch_failure())

    def test_unnamed_filter_refused(self):
        self.vm.add_args('-accel', 'kvm', '-object', json.dumps(FILTER))
        self.assertIn("PMU event filter 'f0' would not be installed: no "
                      "pmu-filter names it", self.launch_failure())

    def test_ignored_accel_option_refused(self):
        self.vm.add_args('-accel', 'kvm', '-accel', 'kvm,pmu-filter=f0',
                         '-object', json.dumps(FILTER))
        self.assertIn("-accel kvm,pmu-filter=f0: PMU event filter 'f0' "
                      "would not be installed", self.launch_failure())


if __name__ == '__main__':
    QemuSystemTest.main()
