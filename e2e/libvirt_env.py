# SPDX-License-Identifier: GPL-2.0-or-later
"""A private libvirt for the tests: Debian's libvirtd and virtlogd, or
those of a libvirt build tree, run as root in a mount namespace of their
own, where /etc/libvirt,
/var/lib/libvirt, /var/log/libvirt, /var/cache/libvirt and /run are
directories of the test.  The machine's libvirt configuration and state
stay as they are, and only the daemons started here are stopped, by
PID.

On a host without /dev/kvm, the daemons can be given a stand-in for
KVM: the namespace gets a /dev of its own, whose kvm is a plain file
(enough for libvirt to take KVM as present), and libvirtd runs with the
stand-in preloaded, so that what it asks of /dev/kvm itself is
answered; the domains' emulators preload it too."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

DAEMONS = ("virtlogd", "libvirtd")
BIND = {
    "etc": "/etc/libvirt",
    "lib": "/var/lib/libvirt",
    "log": "/var/log/libvirt",
    "cache": "/var/cache/libvirt",
    "run": "/run",
}
# Only what the tests need: QEMU as root, no cgroups, no private /dev,
# no security driver (none of them is set up on the build machines)
QEMU_CONF = """
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
"""


def build_tool(build, name):
    """The command that runs @name of the libvirt build tree @build"""
    sub = "tools" if name == "virsh" else "src"
    return [os.path.join(build, "run"), os.path.join(build, sub, name)]


def unusable(build=None):
    """Why a private libvirt cannot run here, or None."""
    for tool in ("unshare", "nsenter"):
        if not shutil.which(tool):
            return "%s is not installed" % tool
    for tool in DAEMONS + ("virsh",):
        if build:
            if not os.access(build_tool(build, tool)[1], os.X_OK):
                return "%s is not built in %s" % (tool, build)
        elif not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            return "%s is not installed" % tool
    if os.geteuid() != 0:
        return "a private libvirtd needs root"
    if subprocess.run(["unshare", "--mount", "true"]).returncode != 0:
        return "cannot make a mount namespace here"
    return None


class Libvirt:
    def __init__(self, build=None, fake_kvm=None):
        """Debian's daemons, or with @build those of that build tree;
        with @fake_kvm, the path of a stand-in for KVM, as said above"""
        self.build = build
        self.fake_kvm = fake_kvm
        self.dir = tempfile.mkdtemp(prefix="kpf-libvirt-")
        self.holder = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private",
             "sleep", "infinity"])
        self.pids = {}
        try:
            self._wait_for_namespace()
            self._prepare()
            for daemon in DAEMONS:
                self._start(daemon)
        except BaseException:
            self.stop()
            raise

    def run(self, *cmd, check=False):
        """Run cmd in the namespace; return the CompletedProcess."""
        return subprocess.run(
            ["nsenter", "-t", str(self.holder.pid), "-m", "--"] + list(cmd),
            capture_output=True, text=True, check=check, timeout=120)

    def tool(self, name):
        return build_tool(self.build, name) if self.build else [name]

    def virsh(self, *args):
        return self.run(*self.tool("virsh"), "-c", "qemu:///system", *args)

    def installed_filter(self, domain):
        """The ID of the filter that query-kvm says @domain's QEMU has
        installed, or None"""
        rsp = self.virsh("qemu-monitor-command", domain,
                         '{"execute": "query-kvm"}')
        if rsp.returncode != 0:
            raise AssertionError(rsp.stderr)
        return json.loads(rsp.stdout)["return"].get("pmu-filter")

    def path(self, name):
        """Where the namespace's /var/log/libvirt/... lives outside it."""
        for key, target in BIND.items():
            if name.startswith(target + "/"):
                return os.path.join(self.dir, key, name[len(target) + 1:])
        raise ValueError(name)

    def _wait_for_namespace(self):
        me = os.readlink("/proc/self/ns/mnt")
        deadline = time.time() + 10
        while os.readlink("/proc/%d/ns/mnt" % self.holder.pid) == me:
            if time.time() > deadline:
                raise RuntimeError("unshare did not make a namespace")
            time.sleep(0.01)

    def _prepare(self):
        etc = os.path.join(self.dir, "etc")
        shutil.copytree("/etc/libvirt", etc, symlinks=True)
        # no network or filter to start: nothing the tests use
        for autostart in ("qemu/networks/autostart",):
            shutil.rmtree(os.path.join(etc, autostart), ignore_errors=True)
        with open(os.path.join(etc, "qemu.conf"), "a") as conf:
            conf.write(QEMU_CONF)
        for key, target in BIND.items():
            os.makedirs(os.path.join(self.dir, key), exist_ok=True)
            self.run("mount", "--bind", os.path.join(self.dir, key), target,
                     check=True)
        for sub in ("lib/qemu", "log/qemu", "cache/qemu", "run/libvirt"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        if self.fake_kvm:
            self._dev_with_kvm_file()

    def _dev_with_kvm_file(self):
        """A /dev of links to the host's entries, and a file kvm"""
        host_dev = os.path.join(self.dir, "host-dev")
        os.makedirs(host_dev)
        self.run("mount", "--rbind", "/dev", host_dev, check=True)
        self.run("mount", "-t", "tmpfs", "-o", "mode=755", "kpf-dev", "/dev",
                 check=True)
        self.run("sh", "-ec", 'for entry in "$1"/*; do '
                 'ln -s "$entry" /dev/; done; '
                 ': > /dev/kvm; chmod 666 /dev/kvm', "sh", host_dev,
                 check=True)

    def _start(self, daemon):
        pidfile = os.path.join(self.dir, daemon + ".pid")
        cmd = self.tool(daemon)
        if self.fake_kvm and daemon == "libvirtd":
            cmd[-1:] = ["env", "LD_PRELOAD=" + self.fake_kvm, cmd[-1]]
        self.run(*cmd, "--daemon", "--pid-file", pidfile, check=True)
        deadline = time.time() + 30
        while not os.path.exists(pidfile) or not open(pidfile).read():
            if time.time() > deadline:
                raise RuntimeError(daemon + " did not start")
            time.sleep(0.05)
        self.pids[daemon] = int(open(pidfile).read())
        if daemon == "libvirtd":
            while self.virsh("uri").returncode != 0:
                if time.time() > deadline:
                    raise RuntimeError("libvirtd does not answer")
                time.sleep(0.1)

    def kill_libvirtd(self):
        """SIGKILL libvirtd, as a crash would stop it"""
        pid = self.pids.pop("libvirtd")
        os.kill(pid, signal.SIGKILL)
        while os.path.exists("/proc/%d" % pid):
            time.sleep(0.05)

    def start_libvirtd(self):
        os.unlink(os.path.join(self.dir, "libvirtd.pid"))
        self._start("libvirtd")

    def stop(self):
        if "libvirtd" in self.pids:
            for name in self.virsh("list", "--name").stdout.split():
                self.virsh("destroy", name)
        for daemon in reversed(DAEMONS):
            pid = self.pids.pop(daemon, None)
            if pid:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
                for _ in range(100):
                    try:
                        os.kill(pid, 0)
                    except ProcessLookupError:
                        break
                    time.sleep(0.05)
        self.holder.kill()
        self.holder.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
