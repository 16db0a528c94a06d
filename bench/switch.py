# SPDX-License-Identifier: GPL-2.0-or-later
"""Time set-kvm-pmu-filter between two 300-event filters on a running
2-vCPU guest, against query-status on the same VM, both as round trips
over QMP; then the same with the VM stopped.  The KVM shim times each
KVM_SET_PMU_EVENT_FILTER ioctl, so that the kernel's share of a switch
is known.  Prints one JSON object."""

import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from qemu_run import Run  # noqa: E402
from startup import filter_object  # noqa: E402
from test_pmu_filter import GUEST  # noqa: E402


def timed(qmp, runs, command, **args):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        rsp = qmp.cmd(command, **args)
        samples.append(time.perf_counter() - start)
        if "return" not in rsp:
            raise RuntimeError(json.dumps(rsp))
    return samples


def ioctl_times(path):
    """The times of the filter ioctls so far, in µs"""
    with open(path) as f:
        return [int(line) / 1e3 for line in f]


def medians(qmp, runs, times):
    """Median round trips of switches and of query-status, interleaved,
    and the median time of the ioctls the switches made"""
    status, switch = [], []
    before = len(ioctl_times(times))
    for _ in range(runs // 2):
        status += timed(qmp, 2, "query-status")
        switch += timed(qmp, 1, "set-kvm-pmu-filter", id="f1")
        switch += timed(qmp, 1, "set-kvm-pmu-filter", id="f0")
    ioctls = ioctl_times(times)[before:]
    if len(ioctls) != len(switch):
        raise RuntimeError("%d switches made %d filter ioctls"
                           % (len(switch), len(ioctls)))
    return (statistics.median(switch) * 1e6, statistics.median(status) * 1e6,
            statistics.median(ioctls))


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    f1 = dict(json.loads(filter_object("masked")), id="f1")
    times = tempfile.NamedTemporaryFile(prefix="kpf-ioctl-times-")
    env = {"KVM_SHIM_LOG": "", "KVM_SHIM_TIMES": times.name}
    with Run(["-accel", "kvm,pmu-filter=f0", "-object", filter_object("raw"),
              "-smp", "2", "-kernel", GUEST, "-serial", "null"],
             env=env) as run:
        qmp = run.connect()
        if not qmp.cmd("query-status")["return"]["running"]:
            raise RuntimeError("the guest does not run")
        time.sleep(0.5)                 # the demo guest is done and halts
        qmp.cmd("object-add", **f1)
        timed(qmp, 50, "query-status")                  # warm up
        switch_us, status_us, ioctl_us = medians(qmp, runs, times.name)
        qmp.cmd("stop")
        stopped = medians(qmp, runs, times.name)
        run.stop()
    print(json.dumps({"kind": "switch", "runs": runs,
                      "switch_us": switch_us, "status_us": status_us,
                      "ioctl_us": ioctl_us,
                      "stopped_switch_us": stopped[0],
                      "stopped_status_us": stopped[1],
                      "stopped_ioctl_us": stopped[2]}))


if __name__ == "__main__":
    main()
