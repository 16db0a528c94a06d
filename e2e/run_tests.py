# SPDX-License-Identifier: GPL-2.0-or-later
"""Run the e2e test modules named on the command line, or all of them,
and print "e2e: N passed, N failed, N skipped"; a skipped test prints
its reason."""

import os
import sys
import unittest


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    if len(sys.argv) > 1:
        suite = unittest.defaultTestLoader.loadTestsFromNames(sys.argv[1:])
    else:
        suite = unittest.defaultTestLoader.discover(here, pattern="test_*.py")
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    for test, reason in result.skipped:
        print("SKIP %s: %s" % (test.id(), reason))
    import guest_view
    import kernel_filter
    print(kernel_filter.summary())
    print(guest_view.summary())
    print("e2e: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
