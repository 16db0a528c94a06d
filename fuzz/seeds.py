# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the fuzzer's seed corpus, taken from the tests: the filters of
the end-to-end tests, the malformed corpus and parser test values.  The
first byte of a seed picks the fuzzer's mode: '1' for an object, '0'
for a single number."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from malformed import corpus  # noqa: E402
from test_pmu_filter import (EXAMPLE_RAW, EXAMPLE_MASKED, masked_events,  # noqa: E402
                             raw_events)

VALUES = ["0", "196", "0xc4", "0XC4", "0xffffffffffffffff",
          "18446744073709551615", "18446744073709551616", "0x", "", "010",
          "00", "-1", "+1", " 1", "1 ", "0x0x1", "1e3", "0b101", "\u00e9"]


def objects():
    yield EXAMPLE_RAW
    yield EXAMPLE_MASKED
    yield dict(EXAMPLE_RAW, action="deny", events=raw_events(300))
    yield dict(EXAMPLE_RAW, events=masked_events(300))
    yield dict(EXAMPLE_RAW, events=[{"format": "x86-default", "select": "0x1c0",
                                "umask": "0x01"}],
               **{"x86-fixed-counter": {"bitmap": "0x7"}})


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    seeds = [b"1" + json.dumps(o).encode() for o in objects()]
    seeds += [b"1" + data for _, data, _ in corpus()]
    seeds += [b"0" + v.encode() for v in VALUES]
    for i, seed in enumerate(seeds):
        with open(os.path.join(out, "seed-%03d" % i), "wb") as f:
            f.write(seed)


if __name__ == "__main__":
    main()
