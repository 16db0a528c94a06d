# SPDX-License-Identifier: GPL-2.0-or-later
"""Compare two QEMU binaries over QMP: the replies to a few commands must
be the same bytes, and query-qmp-schema, the largest reply QEMU builds,
is timed as a round trip on each, interleaved.  Prints one JSON object.

    qmp_schema.py BEFORE AFTER RUNS"""

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ARGS = ["-M", "none", "-accel", "qtest", "-display", "none", "-nodefaults"]
# Replies built from dicts: the schema, and errors that name a member
SAME = [{"execute": "query-qmp-schema"},
        {"execute": "qom-list-types", "arguments": {"abstract": True}},
        {"execute": "query-command-line-options"},
        {"execute": "object-add",
         "arguments": {"qom-type": "kvm-pmu-filter", "id": "f0",
                       "action": "deny", "zzz": 1, "aaa": 2}},
        {"execute": "qom-list", "arguments": {"path": "/", "a": 1}}]
TIMED = b'{"execute": "query-qmp-schema"}\n'


class Raw:
    """A QMP connection that keeps every reply as the bytes QEMU sent"""

    def __init__(self, qemu, tmp, name):
        path = os.path.join(tmp, name + ".sock")
        self.proc = subprocess.Popen(
            [qemu] + ARGS + ["-qmp", f"unix:{path},server=on,wait=off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while not os.path.exists(path):
            if self.proc.poll() is not None:
                raise RuntimeError(self.proc.stderr.read().decode())
            time.sleep(0.01)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.f = self.sock.makefile("rwb")
        self.f.readline()                       # the greeting
        self.send(b'{"execute": "qmp_capabilities"}\n')

    def send(self, line):
        self.f.write(line)
        self.f.flush()
        reply = self.f.readline()
        if not reply:
            raise RuntimeError("QEMU closed the QMP connection")
        return reply

    def close(self):
        self.send(b'{"execute": "quit"}\n')
        self.sock.close()
        self.proc.wait()


def main():
    before, after, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with tempfile.TemporaryDirectory() as tmp:
        qemus = {"before": Raw(before, tmp, "before"),
                 "after": Raw(after, tmp, "after")}
        for command in SAME:
            line = json.dumps(command).encode() + b"\n"
            replies = {k: q.send(line) for k, q in qemus.items()}
            if replies["before"] != replies["after"]:
                raise RuntimeError("the replies to %s differ:\n%s\n%s" % (
                    command["execute"], replies["before"][:300],
                    replies["after"][:300]))
        size = len(qemus["after"].send(TIMED))
        samples = {k: [] for k in qemus}
        for _ in range(runs):
            for k, q in qemus.items():
                start = time.perf_counter()
                q.send(TIMED)
                samples[k].append(time.perf_counter() - start)
        for q in qemus.values():
            q.close()
    print(json.dumps({"kind": "qmp-schema", "runs": runs, "bytes": size,
                      "identical": len(SAME),
                      "before_ms": statistics.median(samples["before"]) * 1e3,
                      "after_ms": statistics.median(samples["after"]) * 1e3}))


if __name__ == "__main__":
    main()
