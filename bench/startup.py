# SPDX-License-Identifier: GPL-2.0-or-later
"""Time QEMU from exec to QMP ready and quit (-S, KVM, -M pc, no guest
code) for several configurations, interleaved so that drift on the host
hits them all alike.  Prints one JSON object per configuration, and one
for the time the kernel takes for the filter's ioctls at start-up, timed
by the KVM shim (KVM_SHIM) in separate runs."""

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from qemu_run import QEMU  # noqa: E402

STOCK = "/usr/bin/qemu-system-x86_64"
BASE = ["-S", "-M", "pc", "-m", "64", "-display", "none", "-nodefaults"]


def filter_object(fmt, n=300):
    if fmt == "raw":
        events = [{"format": "raw", "code": hex(0x100 + i)} for i in range(n)]
    else:
        events = [{"format": "x86-masked-entry", "select": hex(0x20 + i // 4),
                   "mask": "0xff", "match": hex(i % 256),
                   "exclude": i % 2 == 1} for i in range(n)]
    return json.dumps({"qom-type": "kvm-pmu-filter", "id": "f0",
                       "action": "deny", "events": events,
                       "x86-fixed-counter": {"bitmap": "0x7"}})


def configurations():
    yield "patched, no filter", [QEMU, "-accel", "kvm"]
    yield ("patched, 10 raw events",
           [QEMU, "-accel", "kvm,pmu-filter=f0",
            "-object", filter_object("raw", 10)])
    for fmt, label in (("raw", "300 raw events"),
                       ("masked", "300 masked entries")):
        yield ("patched, " + label,
               [QEMU, "-accel", "kvm,pmu-filter=f0",
                "-object", filter_object(fmt)])
    if os.access(STOCK, os.X_OK):
        version = subprocess.run([STOCK, "--version"], capture_output=True,
                                 text=True).stdout.split()[3]
        yield "Debian stock " + version, [STOCK, "-accel", "kvm"]


def qmp_line(f):
    line = f.readline()
    if not line:
        raise RuntimeError("QEMU closed the QMP connection")
    return json.loads(line)


def one_run(cmd, tmp, env=None):
    path = os.path.join(tmp, "qmp.sock")
    if os.path.exists(path):
        os.unlink(path)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd + BASE + ["-qmp",
                                          f"unix:{path},server=on,wait=off"],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    while True:
        try:
            sock.connect(path)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode())
            time.sleep(0.0002)
    f = sock.makefile("rw")
    qmp_line(f)
    for command in ("qmp_capabilities", "quit"):
        f.write(json.dumps({"execute": command}) + "\n")
        f.flush()
        reply = qmp_line(f)
        while "event" in reply:
            reply = qmp_line(f)
    proc.wait()
    elapsed = time.perf_counter() - start
    sock.close()
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.read().decode())
    return elapsed


def ioctl_seconds(cmd, runs, tmp):
    """Per start-up of cmd, the seconds that the kernel took for the
    filter's KVM_SET_PMU_EVENT_FILTER ioctls (the select-width probe and
    the install)"""
    path = os.path.join(tmp, "ioctl-times")
    env = dict(os.environ, LD_PRELOAD=os.environ["KVM_SHIM"],
               KVM_SHIM_LOG="", KVM_SHIM_TIMES=path)
    totals = []
    for _ in range(runs):
        open(path, "w").close()
        one_run(cmd, tmp, env)
        with open(path) as f:
            totals.append(sum(int(line) for line in f) / 1e9)
    return totals


def summary(samples):
    q1, median, q3 = statistics.quantiles(samples, n=4)
    return {"runs": len(samples), "mean_ms": statistics.mean(samples) * 1e3,
            "ci95_ms": 1.96 * statistics.stdev(samples)
            / len(samples) ** 0.5 * 1e3,
            "median_ms": median * 1e3, "iqr_ms": (q3 - q1) * 1e3}


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 21
    configs = list(configurations())
    times = {label: [] for label, _ in configs}
    with tempfile.TemporaryDirectory() as tmp:
        for label, cmd in configs:          # warm the page cache
            one_run(cmd, tmp)
        for _ in range(runs):
            for label, cmd in configs:
                times[label].append(one_run(cmd, tmp))
        raw = dict(configs)["patched, 300 raw events"]
        ioctls = ioctl_seconds(raw, runs, tmp)
    for label, samples in times.items():
        print(json.dumps(dict(config=label, **summary(samples))))
    print(json.dumps(dict(config="ioctls", **summary(ioctls))))


if __name__ == "__main__":
    main()
