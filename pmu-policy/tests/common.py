# SPDX-License-Identifier: GPL-2.0-or-later
"""What the tool's tests share: its package on the path, the repository,
and perf's tables where make check unpacked them."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL_DIR = os.path.dirname(HERE)
TOP = os.path.dirname(TOOL_DIR)
TOOL = os.path.join(TOOL_DIR, "pmu-policy")
sys.path.insert(0, TOOL_DIR)

from pmupolicy import tables  # noqa: E402


def tables_or_skip(test):
    path = os.environ.get("PMU_POLICY_TABLES") or tables.default_tables()
    if not path:
        test.skipTest("perf's event tables are missing (make check unpacks "
                      "them with harness/fetch-linux.sh)")
    return path
