# SPDX-License-Identifier: GPL-2.0-or-later
"""Run QEMU with a QMP monitor in the middle, for libvirt's tests.

    qmp_proxy.py --dir DIR [--preload SO] -- QEMU ARG...

libvirt gives QEMU its monitor as a listening socket, "-chardev
socket,id=charmonitor,fd=N,...".  This launcher takes that socket for a
proxy process of its own, gives QEMU a socket of its own in DIR instead,
and execs QEMU (with SO in LD_PRELOAD), so that QEMU keeps the PID that
libvirt knows.  The proxy passes every message and file descriptor on,
and a new connection from libvirt (a restarted daemon) gets a new one
to QEMU, but for the faults listed in DIR/faults, one name a line, read
at each command:

  query-kvm-fails-after-set  once set-kvm-pmu-filter succeeded, query-kvm
                             gets an error without reaching QEMU
  query-kvm-fails            query-kvm gets an error without reaching QEMU
  stop-fails                 stop gets an error without reaching QEMU
  hold-set-reply             set-kvm-pmu-filter reaches QEMU, its reply
                             never reaches libvirt

DIR/proxy.log gets a line per command and per fault applied."""

import array
import json
import os
import selectors
import socket
import sys
import time

MAX_FDS = 16


def monitor_fd(args):
    """The index in @args of libvirt's monitor chardev, and its fd"""
    for i, arg in enumerate(args):
        if not arg.startswith("socket,id=charmonitor,"):
            continue
        for opt in arg.split(","):
            if opt.startswith("fd="):
                return i, int(opt[3:])
    return None, None


def own_socket_arg(arg, path):
    return ",".join("path=" + path if opt.startswith("fd=") else opt
                    for opt in arg.split(","))


class Stream:
    """Messages of one direction: bytes in, JSON objects out"""

    def __init__(self):
        self.buf = b""
        self.decoder = json.JSONDecoder()

    def feed(self, data):
        self.buf += data
        messages = []
        while True:
            text = self.buf.lstrip()
            if not text:
                self.buf = b""
                return messages
            try:
                msg, end = self.decoder.raw_decode(text.decode())
            except ValueError:
                return messages
            raw = text.decode()[:end].encode()
            self.buf = text[len(raw):]
            messages.append((msg, raw))


class Proxy:
    def __init__(self, listener, qemu_path, directory):
        self.listener = listener
        self.qemu_path = qemu_path
        self.faults_path = os.path.join(directory, "faults")
        self.log = open(os.path.join(directory, "proxy.log"), "a",
                        buffering=1)
        self.sel = selectors.DefaultSelector()
        self.sel.register(listener, selectors.EVENT_READ, self.accept)
        self.client = self.qemu = None
        self.switched = False
        # the IDs of set-kvm-pmu-filter commands, whether their reply is
        # held back
        self.sets = {}

    def faults(self):
        try:
            with open(self.faults_path) as f:
                return set(f.read().split())
        except OSError:
            return set()

    def accept(self, _):
        client, _ = self.listener.accept()
        self.drop_connections()
        self.client = client
        self.qemu = self.connect_qemu()
        self.to_qemu, self.to_client = Stream(), Stream()
        self.sel.register(client, selectors.EVENT_READ, self.from_client)
        self.sel.register(self.qemu, selectors.EVENT_READ, self.from_qemu)
        self.log.write("libvirt connected\n")

    def connect_qemu(self):
        deadline = time.time() + 30
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(self.qemu_path)
                return sock
            except OSError:
                sock.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.05)

    def drop_connections(self):
        for sock in (self.client, self.qemu):
            if sock:
                self.sel.unregister(sock)
                sock.close()
        self.client = self.qemu = None

    def from_client(self, sock):
        data, fds = receive(sock)
        if not data:
            self.log.write("libvirt disconnected\n")
            self.drop_connections()
            return
        for msg, raw in self.to_qemu.feed(data):
            self.command(msg, raw, fds)
            fds = []

    def command(self, msg, raw, fds):
        name = msg.get("execute")
        faults = self.faults()
        self.log.write("-> %s\n" % name)
        if name == "query-kvm" and (
                "query-kvm-fails" in faults or
                ("query-kvm-fails-after-set" in faults and self.switched)):
            return self.inject(msg, "query-kvm")
        if name == "stop" and "stop-fails" in faults:
            return self.inject(msg, "stop")
        if name == "set-kvm-pmu-filter":
            self.sets[json.dumps(msg.get("id"))] = "hold-set-reply" in faults
        send(self.qemu, raw + b"\r\n", fds)

    def inject(self, msg, name):
        self.log.write("injected an error for %s\n" % name)
        reply = {"error": {"class": "GenericError",
                           "desc": "injected by the test's proxy"},
                 "id": msg.get("id")}
        send(self.client, json.dumps(reply).encode() + b"\r\n", [])

    def from_qemu(self, sock):
        data, _ = receive(sock)
        if not data:
            self.log.write("QEMU disconnected\n")
            sys.exit(0)
        for msg, raw in self.to_client.feed(data):
            key = json.dumps(msg.get("id"))
            if "id" in msg and key in self.sets:
                self.switched |= "return" in msg
                if self.sets.pop(key):
                    self.log.write("held the reply of set-kvm-pmu-filter\n")
                    continue
            send(self.client, raw + b"\r\n", [])

    def run(self):
        # QEMU is the parent: when it is gone, so is the proxy
        qemu = os.getppid()
        while os.getppid() == qemu:
            for key, _ in self.sel.select(timeout=0.5):
                key.data(key.fileobj)


def receive(sock):
    fds = array.array("i")
    try:
        data, anc, _, _ = sock.recvmsg(65536,
                                       socket.CMSG_LEN(MAX_FDS * fds.itemsize))
    except ConnectionResetError:
        return b"", []
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
    return data, list(fds)


def send(sock, data, fds):
    if fds:
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                array.array("i", fds).tobytes())]
        sent = sock.sendmsg([data], anc)
        for fd in fds:
            os.close(fd)
        data = data[sent:]
    sock.sendall(data)


def proxy(fd, path, directory):
    """The proxy process: nothing of QEMU's but libvirt's socket"""
    null = os.open(os.devnull, os.O_RDWR)
    for std in (0, 1, 2):
        os.dup2(null, std)
    os.closerange(3, fd)
    os.closerange(fd + 1, os.sysconf("SC_OPEN_MAX"))
    try:
        Proxy(socket.socket(fileno=fd), path, directory).run()
    finally:
        os._exit(0)


def main():
    argv = sys.argv[1:]
    split = argv.index("--")
    opts, qemu = argv[:split], argv[split + 1:]
    directory = opts[opts.index("--dir") + 1]
    preload = opts[opts.index("--preload") + 1] if "--preload" in opts \
        else None
    index, fd = monitor_fd(qemu)
    if index is not None:
        path = os.path.join(directory, "monitor-%d.sock" % os.getpid())
        qemu[index] = own_socket_arg(qemu[index], path)
        if os.fork() == 0:
            proxy(fd, path, directory)
        os.close(fd)
    if preload:
        os.environ["LD_PRELOAD"] = preload
    os.execv(qemu[0], qemu)


if __name__ == "__main__":
    main()
