# SPDX-License-Identifier: GPL-2.0-or-later
"""Run the tool's tests and print "pmu-policy: N passed, N failed, N
skipped"; a skipped test prints its reason."""

import os
import sys
import unittest


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    suite = unittest.defaultTestLoader.discover(here, pattern="test_*.py")
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    for test, reason in result.skipped:
        print("SKIP %s: %s" % (test.id(), reason))
    print("pmu-policy: %d passed, %d failed, %d skipped"
          % (result.testsRun - failed - skipped, failed, skipped))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
