# SPDX-License-Identifier: GPL-2.0-or-later
"""pmu-policy on perf's tables of the Linux source that make check
unpacks: time per model, and the facts the issue starts from."""

import subprocess
import time
import unittest

from common import TOOL, tables_or_skip
from pmupolicy import encode, policy, tables

MODELS = ("skylakex", "icelakex", "sapphirerapids", "amdzen4")
POLICIES = (("allow", ["architectural"]),
            ("deny", ["cache", "memory", "offcore"]))


class RealTables(unittest.TestCase):
    def setUp(self):
        self.dir = tables_or_skip(self)

    def test_under_a_second_per_model(self):
        """Reading a model's tables, resolving a policy and encoding it"""
        for name in MODELS:
            for action, terms in POLICIES:
                start = time.perf_counter()
                model = tables.load_tables(self.dir, name)
                encode.build(policy.resolve(model, action, terms))
                took = time.perf_counter() - start
                print("\nresolve %s %s %s: %.3f s"
                      % (name, action, " ".join(terms), took))
                self.assertLess(took, 1.0)

    def test_command_under_a_second(self):
        """The whole command, Python's start included"""
        for name in MODELS:
            for action, terms in POLICIES:
                start = time.perf_counter()
                subprocess.run([TOOL, "resolve", "--tables", self.dir, "-m",
                                name, action] + terms, check=True,
                               capture_output=True)
                took = time.perf_counter() - start
                print("\npmu-policy resolve -m %s %s %s: %.3f s"
                      % (name, action, " ".join(terms), took))
                self.assertLess(took, 1.0)

    def test_offcore_encodings_differ(self):
        def offcore(name):
            model = tables.load_tables(self.dir, name)
            return {enc for ev in policy.preset_events(model, "offcore")[0]
                    for enc in ev.encodings}
        self.assertEqual(offcore("skylakex"), {(0xb7, 1), (0xbb, 1)})
        self.assertEqual(offcore("sapphirerapids"), {(0x2a, 1), (0x2b, 1)})
        spr = tables.load_tables(self.dir, "sapphirerapids")
        self.assertEqual(spr.by_name["EXE.AMX_BUSY"].encodings, ((0xb7, 2),))

    def test_same_name_other_encoding(self):
        icx = tables.load_tables(self.dir, "icelakex")
        spr = tables.load_tables(self.dir, "sapphirerapids")
        shared = set(icx.by_name) & set(spr.by_name)
        same = [n for n in shared
                if icx.by_name[n].encodings == spr.by_name[n].encodings and
                icx.by_name[n].fixed == spr.by_name[n].fixed]
        print("\nicelakex and sapphirerapids share %d core event names, %d "
              "of them encode the same" % (len(shared), len(same)))
        self.assertLess(len(same), len(shared))


if __name__ == "__main__":
    unittest.main()
