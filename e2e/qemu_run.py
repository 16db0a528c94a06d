# SPDX-License-Identifier: GPL-2.0-or-later
"""Start the patched QEMU on real KVM under the ioctl shim, talk QMP to
it, and read back what the shim recorded.

Where this host has no /dev/kvm, the shim sits on the x86 stand-in for
KVM (x86-fake-kvm.c) instead, which answers as a KVM that gives guests
an Intel PMU and compares 8 event select bits, and whose filters the
kernel's kvm_intel code judges; tests that need guest code to run, or
this host's own KVM, say so with skip_without_kvm(cls, guest=True)."""

import fcntl
import functools
import json
import os
import platform
import re
import socket
import struct
import subprocess
import tempfile
import time
import unittest

import kernel_filter

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QEMU = os.environ.get("QEMU", os.path.join(TOP, "build/qemu-system-x86_64"))
SHIM = os.environ.get("KVM_SHIM", os.path.join(TOP, "build/e2e/kvm-shim.so"))
# e2e/x86-fake-kvm.c, which stands in for a KVM that gives guests an
# Intel PMU on hosts without /dev/kvm
X86_FAKE_KVM = os.environ.get("X86_FAKE_KVM",
                              os.path.join(TOP, "build/e2e/x86-fake-kvm.so"))
WARNING = re.compile(r"^([^ ]+: )?warning: ")
# AddressSanitizer's notice about QEMU's coroutines, printed by every
# sanitized QEMU; it is not a report
ASAN_NOTICE = re.compile(r"^==\d+==WARNING: ASan doesn't fully support "
                         r"makecontext/swapcontext")
# What a sanitized QEMU prints when it finds a bug or a leak
SANITIZER_REPORT = re.compile(r"ERROR: (Address|Leak)Sanitizer|"
                              r"runtime error: ")
BASE_ARGS = ["-M", "pc", "-m", "64", "-display", "none",
             "-nodefaults"]

# From linux/kvm.h
KVM_CREATE_VM = 0xae01
KVM_CHECK_EXTENSION = 0xae03
KVM_SET_PMU_EVENT_FILTER = 0x4020aeb2
KVM_GET_SUPPORTED_CPUID = 0xc008ae05
CAP_PMU_EVENT_MASKED_EVENTS = 226
# How QEMU asks KVM how many event select bits it compares: a deny-list
# whose one masked entry excludes select 0x1c4, which KVM refuses where
# it compares 8 bits and which lists nothing where it compares 12
SELECT_PROBE = struct.pack("<8IQ", 1, 1, 0, 1, 0, 0, 0, 0,
                           0xff800001000000c4)
# What the shim logs instead of the kernel's return code for a filter it
# failed itself or answered as a 12-bit KVM (KVM_SHIM_SELECT_BITS)
NOT_FROM_KERNEL = ("injected", "emulated")


def kvm_unusable():
    """Why tests that need /dev/kvm cannot run here, or None."""
    if not os.path.exists("/dev/kvm"):
        return "no /dev/kvm on this machine"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "/dev/kvm is not accessible to this user"
    return None


def x86_fake_kvm_unusable():
    """Why QEMU cannot run on the x86 stand-in for KVM here, or None."""
    if platform.machine() != "x86_64":
        return "the x86 stand-in for KVM runs on x86_64 hosts"
    if not os.path.isfile(X86_FAKE_KVM):
        return "%s is missing (make check builds it)" % X86_FAKE_KVM
    return None


def kvm_or_stand_in_unusable():
    """Why neither this host's KVM nor the stand-in can run QEMU, or None."""
    why = kvm_unusable()
    fake = why and x86_fake_kvm_unusable()
    return "%s, and %s" % (why, fake) if fake else None


# Whether QEMU runs on the x86 stand-in for lack of /dev/kvm, and what
# the stand-in answers (x86-fake-kvm.c, with its default leaf 0xA)
STAND_IN = kvm_unusable() is not None and x86_fake_kvm_unusable() is None
STAND_IN_SELECT_BITS = 8
STAND_IN_FIXED_COUNTERS = 3


def kvm_preload():
    """What QEMU preloads, as absolute paths: the shim, which logs to
    $KVM_SHIM_LOG, over this host's KVM or over the stand-in"""
    libs = [SHIM] + ([X86_FAKE_KVM] if STAND_IN else [])
    return ":".join(os.path.realpath(lib) for lib in libs if lib)


def kvm_in_use():
    """Which KVM QEMU runs on, in words"""
    if STAND_IN:
        return ("the x86 stand-in for KVM, e2e/x86-fake-kvm.c (%s)"
                % kvm_unusable())
    return "this host's KVM, under the shim"


def skip_without_kvm(cls=None, guest=False):
    """Skip a test class that needs a KVM: this host's, or with @guest
    False the stand-in, which runs no guest code, will do."""
    def decorate(cls):
        reason = kvm_unusable() if guest else kvm_or_stand_in_unusable()
        return unittest.skip(reason)(cls) if reason else cls
    return decorate(cls) if cls else decorate


def assert_refused(test, args, message, env=None, hints=None, runner=None):
    """QEMU exits with status 1 and one error line that holds @message,
    followed by @hints (unless None), before any KVM_RUN; return the
    finished Run (or @runner)."""
    with (runner or Run)(args, env=env) as run:
        run.wait()
        test.assertEqual(run.proc.returncode, 1, run.stderr)
        errors = run.error_lines()
        test.assertEqual(len(errors), 1, run.stderr)
        test.assertIn(message, errors[0])
        if hints is not None:
            test.assertEqual(run.hint_lines(), hints, run.stderr)
        test.assertFalse(run.ran_guest())
    return run


def host_vendor():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("vendor_id"):
                return line.split(":")[1].strip()
    return None


@functools.cache
def kvm_has_masked_events():
    if STAND_IN:
        return True
    kvm = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    try:
        return fcntl.ioctl(kvm, KVM_CHECK_EXTENSION,
                           CAP_PMU_EVENT_MASKED_EVENTS) > 0
    finally:
        os.close(kvm)


@functools.cache
def kvm_select_bits():
    """How many event select bits this host's KVM compares: asked of KVM
    by the test itself, the way QEMU asks, or by the CPU vendor where KVM
    has no masked entries."""
    if STAND_IN:
        return STAND_IN_SELECT_BITS
    kvm = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    try:
        vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
        try:
            if fcntl.ioctl(vm, KVM_CHECK_EXTENSION,
                           CAP_PMU_EVENT_MASKED_EVENTS) <= 0:
                return 12 if host_vendor() in ("AuthenticAMD",
                                               "HygonGenuine") else 8
            try:
                fcntl.ioctl(vm, KVM_SET_PMU_EVENT_FILTER, SELECT_PROBE)
                return 12
            except OSError:
                return 8
        finally:
            os.close(vm)
    finally:
        os.close(kvm)


@functools.cache
def kvm_fixed_counters():
    """How many fixed counters this host's KVM gives guests: EDX[4:0] of
    CPUID leaf 0xA as KVM_GET_SUPPORTED_CPUID reports it (0 on AMD, and
    where KVM gives guests no PMU)"""
    if STAND_IN:
        return STAND_IN_FIXED_COUNTERS
    nent = 256
    buf = bytearray(struct.pack("<II", nent, 0) + bytes(40 * nent))
    kvm = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.ioctl(kvm, KVM_GET_SUPPORTED_CPUID, buf)
    finally:
        os.close(kvm)
    for i in range(struct.unpack_from("<I", buf)[0]):
        function, index, _, _, _, _, edx = \
            struct.unpack_from("<7I", buf, 8 + 40 * i)
        if function == 0xa and index == 0:
            return edx & 0x1f
    return 0


def kvm_vendor_model():
    """The vendor module whose filter code decides on this host, as the
    select width KVM compares tells"""
    return "intel" if kvm_select_bits() == 8 else "amd"


def judged_shim_records(path):
    """The records of the shim's log @path, (kind, hex bytes), without
    QEMU's select-width probe; every filter the kernel got is judged by
    the kernel's own code."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        lines = [line.split() for line in f]
    for words in lines:
        if words[0] == "filter" and words[2] not in NOT_FROM_KERNEL:
            kernel_filter.check(bytes.fromhex(words[1]), int(words[2]),
                                kvm_vendor_model())
    return [tuple(words[:2]) for words in lines
            if words[:2] != ["filter", SELECT_PROBE.hex()]]


def host_gives_pmu():
    """Whether this host's KVM gives guests a PMU (enable_pmu)."""
    if STAND_IN:
        return True
    try:
        with open("/sys/module/kvm/parameters/enable_pmu") as f:
            return f.read().strip() != "N"
    except OSError:
        return True


class Qmp:
    def __init__(self, path, timeout=20):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        deadline = time.time() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except ConnectionRefusedError:
                # QEMU binds the socket before it listens on it
                if time.time() > deadline:
                    raise
                time.sleep(0.02)
        self.file = self.sock.makefile("r")
        self.events = []
        json.loads(self.file.readline())        # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **arguments):
        """Send a command; return its whole response (return or error)."""
        msg = {"execute": name}
        if arguments:
            msg["arguments"] = arguments
        return self.send(json.dumps(msg).encode())

    def send(self, data):
        """Send raw bytes as one command; return the response."""
        try:
            self.sock.sendall(data + b"\n")
        except (BrokenPipeError, ConnectionResetError):
            return None                         # QEMU went away
        return self.read()

    def read(self):
        """The next response that is not an event, or None at EOF."""
        while True:
            try:
                line = self.file.readline()
            except ConnectionResetError:
                line = ""
            if not line:
                return None
            rsp = json.loads(line)
            if "event" in rsp:
                self.events.append(rsp)
            else:
                return rsp

    def close(self):
        self.sock.close()


class Run:
    """One QEMU process.  Use as a context manager; stop() ends it."""

    def __init__(self, args, env=None):
        self.dir = tempfile.TemporaryDirectory(prefix="kpf-e2e-")
        self.log = os.path.join(self.dir.name, "shim.log")
        self.qmp_path = os.path.join(self.dir.name, "qmp.sock")
        full_env = dict(os.environ, **self.shim_env())
        full_env.update(env or {})
        cmd = self.command(args) + [
            "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path]
        self.proc = subprocess.Popen(cmd, env=full_env, text=True,
                                     errors="backslashreplace",
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.qmp = None
        self.stderr = ""
        self.final_records = None

    def command(self, args):
        return [QEMU] + BASE_ARGS + args

    def shim_env(self):
        env = {"KVM_SHIM_LOG": self.log}
        if kvm_preload():       # KVM_SHIM= runs QEMU without the shim
            env["LD_PRELOAD"] = kvm_preload()
        return env

    def connect(self, timeout=20):
        deadline = time.time() + timeout
        while not os.path.exists(self.qmp_path):
            if self.proc.poll() is not None or time.time() > deadline:
                raise AssertionError("QEMU did not open QMP: " + self.wait())
            time.sleep(0.02)
        self.qmp = Qmp(self.qmp_path)
        return self.qmp

    def connect_or_exit(self):
        """Connect to QMP, or return None once QEMU has exited."""
        try:
            return self.connect()
        except (AssertionError, OSError, ValueError):
            self.qmp = None
            self.wait()
            return None

    def wait(self, timeout=30):
        """Wait for QEMU to exit; return its stderr."""
        _, self.stderr = self.proc.communicate(timeout=timeout)
        return self.stderr

    def stop(self):
        if self.qmp:
            self.qmp.cmd("quit")
            self.qmp.close()
        if self.proc.poll() is None and not self.qmp:
            self.proc.kill()
        self.wait()
        return self.proc.returncode

    def shim_lines(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [line.split() for line in f]

    def records(self):
        """The shim's records: ("filter", bytes) and ("run", None)."""
        if self.final_records is not None:
            return self.final_records
        return [(words[0], bytes.fromhex(words[1]) if len(words) > 1
                 else None) for words in self.shim_lines()]

    def filter_results(self):
        """(bytes, what the running kernel returned, or None where the
        shim failed the call) for each filter QEMU handed to KVM."""
        return [(bytes.fromhex(words[1]),
                 None if words[2] in NOT_FROM_KERNEL else int(words[2]))
                for words in self.shim_lines() if words[0] == "filter"]

    def judge_filters(self):
        """Every filter QEMU installed, judged by the kernel's own code."""
        why = kernel_filter.unavailable()
        results = set(self.filter_results())
        if why and os.environ.get("KERNEL_FILTER") != "none" and results:
            raise AssertionError("cannot judge the filters by the kernel's "
                                 "code: " + why)
        if why:
            return
        for payload, ret in sorted(results, key=repr):
            kernel_filter.check(payload, ret, kvm_vendor_model())

    def filters(self):
        """The filters QEMU installed, without its select-width probe."""
        return [data for kind, data in self.records()
                if kind == "filter" and data != SELECT_PROBE]

    def probes(self):
        return [data for kind, data in self.records()
                if kind == "filter" and data == SELECT_PROBE]

    def wait_for_guest(self, timeout=10):
        """Wait until a vCPU has entered KVM_RUN; return whether one has."""
        deadline = time.time() + timeout
        while not self.ran_guest() and time.time() < deadline:
            time.sleep(0.05)
        return self.ran_guest()

    def ran_guest(self):
        return any(kind == "run" for kind, _ in self.records())

    def output_lines(self):
        return [line for line in self.stderr.splitlines()
                if line and not WARNING.match(line) and
                not ASAN_NOTICE.match(line)]

    def error_lines(self):
        """Errors are one phrase, without a full stop at the end."""
        return [line for line in self.output_lines()
                if not line.endswith(".")]

    def hint_lines(self):
        """Hints are sentences that follow an error."""
        return [line for line in self.output_lines() if line.endswith(".")]

    def warnings(self):
        return [line for line in self.stderr.splitlines()
                if WARNING.match(line)]

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if self.qmp:
            self.qmp.close()
        if self.proc.poll() is None:
            self.proc.kill()
        if not self.proc.stderr.closed:
            self.stderr += self.proc.communicate()[1]
        self.final_records = self.records()
        if exc_type is None:
            try:
                self.judge_filters()
            finally:
                self.dir.cleanup()
        else:
            self.dir.cleanup()
        if exc_type is None and SANITIZER_REPORT.search(self.stderr):
            raise AssertionError("QEMU's sanitizers reported:\n" +
                                 self.stderr)
