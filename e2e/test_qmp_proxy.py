# SPDX-License-Identifier: GPL-2.0-or-later
"""The QMP proxy of the libvirt tests (qmp_proxy.py), which needs no KVM:
a stand-in QEMU that answers a few commands takes the place of QEMU, and
the test that of libvirt, which hands over a listening socket as
"-chardev socket,id=charmonitor,fd=N"."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PROXY = os.path.join(HERE, "qmp_proxy.py")

# A stand-in for QEMU: serves QMP on the path of its charmonitor chardev,
# one client at a time; query-kvm reports the object that the last
# set-kvm-pmu-filter named
FAKE_QEMU = r'''
import json, os, socket, sys
arg = [a for a in sys.argv if a.startswith("socket,id=charmonitor,")][0]
path = [o[5:] for o in arg.split(",") if o.startswith("path=")][0]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
installed = "pmufilter0"
while True:
    conn, _ = srv.accept()
    f = conn.makefile("rw")
    f.write(json.dumps({"QMP": {"version": {}}}) + "\r\n")
    f.flush()
    for line in f:
        cmd = json.loads(line)
        name = cmd["execute"]
        if name == "quit":
            sys.exit(0)
        if name == "set-kvm-pmu-filter":
            installed = cmd["arguments"]["id"]
        ret = {"pmu-filter": installed} if name == "query-kvm" else {}
        f.write(json.dumps({"return": ret, "id": cmd.get("id")}) + "\r\n")
        f.flush()
'''


class Client:
    """libvirt's side of the monitor"""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.file = self.sock.makefile("rw")
        self.greeting = json.loads(self.file.readline())
        self.next_id = 0

    def send(self, name, **args):
        self.next_id += 1
        msg = {"execute": name, "id": "libvirt-%d" % self.next_id}
        if args:
            msg["arguments"] = args
        self.file.write(json.dumps(msg) + "\r\n")
        self.file.flush()

    def reply(self):
        return json.loads(self.file.readline())

    def cmd(self, name, **args):
        self.send(name, **args)
        return self.reply()

    def close(self):
        self.file.close()
        self.sock.close()


class QmpProxy(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="kpf-proxy-")
        self.addCleanup(self.dir.cleanup)
        self.path = os.path.join(self.dir.name, "monitor.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.path)
        listener.listen(1)
        fd = listener.fileno()
        self.proc = subprocess.Popen(
            [sys.executable, PROXY, "--dir", self.dir.name, "--",
             sys.executable, "-c", FAKE_QEMU,
             "-chardev", "socket,id=charmonitor,fd=%d,server=on,wait=off"
             % fd], pass_fds=[fd])
        listener.close()
        self.addCleanup(self.stop)

    def stop(self):
        self.proc.kill()
        self.proc.wait()

    def faults(self, *names):
        with open(os.path.join(self.dir.name, "faults"), "w") as f:
            f.write("\n".join(names))

    def log(self):
        with open(os.path.join(self.dir.name, "proxy.log")) as f:
            return f.read()

    def test_passes_commands_on(self):
        client = Client(self.path)
        self.assertIn("QMP", client.greeting)
        self.assertEqual(client.cmd("query-kvm")["return"],
                         {"pmu-filter": "pmufilter0"})
        self.assertEqual(client.cmd("set-kvm-pmu-filter",
                                    id="pmufilter1")["return"], {})
        reply = client.cmd("query-kvm")
        self.assertEqual(reply, {"return": {"pmu-filter": "pmufilter1"},
                                 "id": "libvirt-3"})

    def test_query_fails_after_a_switch(self):
        self.faults("query-kvm-fails-after-set")
        client = Client(self.path)
        self.assertIn("return", client.cmd("query-kvm"))
        self.assertIn("return", client.cmd("set-kvm-pmu-filter",
                                           id="pmufilter1"))
        reply = client.cmd("query-kvm")
        self.assertEqual(reply["error"]["desc"],
                         "injected by the test's proxy")
        self.assertEqual(reply["id"], "libvirt-3")
        os.unlink(os.path.join(self.dir.name, "faults"))
        self.assertEqual(client.cmd("query-kvm")["return"],
                         {"pmu-filter": "pmufilter1"})

    def test_stop_fails(self):
        self.faults("stop-fails")
        client = Client(self.path)
        self.assertIn("error", client.cmd("stop"))
        self.assertIn("injected an error for stop", self.log())

    def test_held_reply_and_a_new_connection(self):
        """The switch reaches QEMU, its reply does not reach the client;
        a client that connects anew talks to QEMU anew"""
        self.faults("hold-set-reply")
        client = Client(self.path)
        client.send("set-kvm-pmu-filter", id="pmufilter1")
        deadline = time.time() + 10
        while "held the reply" not in self.log():
            self.assertLess(time.time(), deadline)
            time.sleep(0.05)
        client.close()
        self.faults()
        client = Client(self.path)
        self.assertEqual(client.cmd("query-kvm")["return"],
                         {"pmu-filter": "pmufilter1"})

    def test_no_monitor_no_proxy(self):
        """Without libvirt's monitor (a capabilities probe), QEMU runs
        as it is"""
        out = subprocess.run(
            [sys.executable, PROXY, "--dir", self.dir.name, "--",
             sys.executable, "-c", "import sys; print(sys.argv[1:])",
             "-S", "-qmp", "unix:x,server=on"],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(out.stdout.strip(), "['-S', '-qmp', 'unix:x,server=on']")


if __name__ == "__main__":
    unittest.main()
