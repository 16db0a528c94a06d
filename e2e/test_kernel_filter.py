# SPDX-License-Identifier: GPL-2.0-or-later
"""What Linux's own filter code says about filters, without a guest: the
judge of every payload the other tests capture must catch a wrong one,
and it shows the kernel behaviour the series guards against."""

import struct
import unittest

import kernel_filter
from kernel_filter import Mismatch, judge, kernel
from test_pmu_filter import EXAMPLE_MASKED, EXAMPLE_RAW, expected_bytes

LLC_BUT_ONE = {"qom-type": "kvm-pmu-filter", "id": "llc", "action": "deny",
               "events": [{"format": "x86-masked-entry", "select": "0x2e",
                           "mask": "0x00", "match": "0x00"},
                          {"format": "x86-masked-entry", "select": "0x2e",
                           "mask": "0xff", "match": "0x41",
                           "exclude": True}]}


def plain(action, *codes):
    return struct.pack("<8I", action, len(codes), 0, 0, 0, 0, 0, 0) + \
        b"".join(struct.pack("<Q", c) for c in codes)


def masked(action, *entries):
    return struct.pack("<8I", action, len(entries), 0, 1, 0, 0, 0, 0) + \
        b"".join(struct.pack("<Q", e) for e in entries)


@unittest.skipIf(kernel_filter.unavailable(), kernel_filter.unavailable())
class NegativeControls(unittest.TestCase):
    """Payloads that differ from their object in one bit are caught."""

    def assert_caught(self, bad, obj, vendor, message):
        """The judge must catch @bad, a payload that does not mean @obj"""
        with self.assertRaises(Mismatch) as caught:
            judge(bad, obj, vendor)
        print("\ncaught:", caught.exception)
        self.assertIn(message, str(caught.exception))

    def test_flipped_action(self):
        good = expected_bytes(EXAMPLE_RAW)
        judge(good, EXAMPLE_RAW, "intel")
        bad = struct.pack("<I", 1) + good[4:]
        self.assert_caught(bad, EXAMPLE_RAW, "intel",
                           "event select 0xc3 umask 0x00: the kernel says "
                           "counts, the documentation blocked")

    def test_lost_exclude_bit(self):
        good = expected_bytes(LLC_BUT_ONE)
        judge(good, LLC_BUT_ONE, "amd")
        entry = struct.unpack("<Q", good[40:48])[0] & ~(1 << 55)
        bad = good[:40] + struct.pack("<Q", entry)
        self.assert_caught(bad, LLC_BUT_ONE, "amd",
                           "event select 0x2e umask 0x41: the kernel says "
                           "blocked, the documentation counts")

    def test_fixed_counter_bit(self):
        obj = dict(EXAMPLE_RAW, **{"x86-fixed-counter": {"bitmap": "0x1"}})
        good = expected_bytes(obj)
        judge(good, obj, "intel")
        self.assert_caught(good[:8] + struct.pack("<I", 3) + good[12:], obj,
                           "intel", "fixed counter 1")


@unittest.skipIf(kernel_filter.unavailable(), kernel_filter.unavailable())
class KernelBehaviour(unittest.TestCase):
    """Why the series refuses or warns about some filters."""

    def test_plain_wide_select_dropped_by_kvm_intel(self):
        """A deny-list of select 0x1c4 denies nothing under kvm_intel,
        and KVM still returns 0: QEMU refuses it there."""
        payload = plain(1, 0x1000000c4)
        self.assertEqual(kernel("intel").set_filter(payload), 0)
        self.assertEqual(kernel("intel").gp(0xc4), "1" * 256)
        self.assertEqual(kernel("amd").set_filter(payload), 0)
        self.assertEqual(kernel("amd").gp(0x1c4)[0], "0")

    def test_masked_wide_select_refused_by_kvm_intel(self):
        payload = masked(1, 0xff800001000000c4)
        self.assertEqual(kernel("intel").set_filter(payload), -22)
        self.assertEqual(kernel("amd").set_filter(payload), 0)

    def test_select_probe_lists_nothing(self):
        probe = kernel_filter.probe_bytes()
        self.assertEqual(kernel("intel").set_filter(probe), -22)
        self.assertEqual(kernel("amd").set_filter(probe), 0)
        for select in (0xc4, 0x1c4, 0x2e):
            self.assertEqual(kernel("amd").gp(select), "1" * 256)

    def test_allow_list_of_excludes_allows_nothing(self):
        """The public cover letter's second example."""
        payload = expected_bytes(EXAMPLE_MASKED)
        k = kernel("intel")
        self.assertEqual(k.set_filter(payload), 0)
        for select in (0xc4, 0xc5, 0x3c, 0xc0):
            self.assertEqual(k.gp(select), "0" * 256)
        self.assertFalse(any(k.fixed(i) for i in range(8)))

    def test_fixed_counters_by_the_bitmap_alone(self):
        """A deny-list of instructions retired leaves fixed counter 0."""
        k = kernel("intel")
        self.assertEqual(k.set_filter(plain(1, 0xc0)), 0)
        self.assertEqual(k.gp(0xc0)[0], "0")
        self.assertTrue(k.fixed(0))


if __name__ == "__main__":
    unittest.main(verbosity=2)
