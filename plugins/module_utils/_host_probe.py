# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

"""What a preflight needs to know of a host, read from /proc, /dev and two commands, without changing anything.

The proc root, the dev root and the two command hooks (find a binary on PATH, run an argv) are given to
HostProbe, so tests run on a fake /proc tree with fake commands.
"""

from __future__ import annotations

import ipaddress
import os
import re

TCP_LISTEN = "0A"
_SOCKET_LINK = re.compile(r"socket:\[(\d+)\]")
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


# The packages option of the info modules whose result holds package_result() (doc fragment llmops.ollama.host_probe).
PACKAGES_ARG = {"type": "list", "elements": "str", "default": []}


class ProbeError(Exception):
    pass


def _read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return None


def _ipv4(hex_address):
    raw = bytes.fromhex(hex_address)[::-1]  # one 32-bit word in host (little-endian) order
    return ".".join(str(b) for b in raw)


def _ipv6(hex_address):
    raw = b"".join(bytes.fromhex(hex_address[i:i + 8])[::-1] for i in range(0, 32, 8))  # four words, each swapped
    if raw[:12] == b"\0" * 10 + b"\xff\xff":  # IPv4-mapped, written the same way by every Python version
        return "::ffff:" + ".".join(str(b) for b in raw[12:])
    return str(ipaddress.IPv6Address(raw))


def parse_proc_net_tcp(text, ipv6=False):
    """[(address, port, inode)] of the LISTEN sockets in the text of /proc/net/tcp or /proc/net/tcp6."""
    sockets = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != TCP_LISTEN:
            continue
        address, sep, port = fields[1].partition(":")
        try:
            sockets.append(((_ipv6 if ipv6 else _ipv4)(address), int(port, 16), int(fields[9])))
        except ValueError:
            continue
    return sockets


def parse_meminfo_total(text):
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            fields = line.split()
            if len(fields) >= 2 and fields[1].isdigit():
                return int(fields[1]) * (1024 if fields[2:3] in (["kB"], []) else 1)
    return None


def parse_cpuinfo_avx2(text):
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "flags":
            return "avx2" in value.split()
    return False


def parse_nvidia_smi(text):
    gpus = []
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, memory = line.rpartition(",")
        if not sep:
            continue
        memory = memory.strip()
        gpus.append({"name": name.strip(), "memory_mib": int(memory) if memory.isdigit() else None})
    return gpus


def parse_mountinfo(text):
    """The mount points listed in the text of /proc/self/mountinfo, unescaped."""
    points = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 5:
            points.append(_OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), fields[4]))
    return points


class HostProbe:
    """proc: the proc root; dev: the dev root; which(name) -> path or None; run(argv) -> (rc, stdout, stderr)."""

    def __init__(self, which, run, proc="/proc", dev="/dev"):
        self.which = which
        self.run = run
        self.proc = proc
        self.dev = dev

    def _proc(self, *parts):
        return os.path.join(self.proc, *parts)

    # --- always ---

    def cpu_cores(self):
        try:
            return len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            return os.cpu_count()

    def cpu_flags_avx2(self):
        return parse_cpuinfo_avx2(_read_text(self._proc("cpuinfo")) or "")

    def ram_bytes(self):
        return parse_meminfo_total(_read_text(self._proc("meminfo")) or "")

    def gpus_nvidia(self):
        binary = self.which("nvidia-smi")
        if not binary:
            return []
        rc, out, err = self.run([binary, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"])
        return parse_nvidia_smi(out) if rc == 0 else []

    def gpu_amd(self):
        return os.path.exists(os.path.join(self.dev, "kfd"))

    # --- ports ---

    def _socket_owners(self, inodes):
        """{inode: (pid, comm)} for the given socket inodes, from /proc/<pid>/fd; the lowest pid wins."""
        owners = {}
        try:
            pids = sorted(int(name) for name in os.listdir(self.proc) if name.isdigit())
        except OSError:
            return owners
        for pid in pids:
            fd_dir = self._proc(str(pid), "fd")
            try:
                fds = os.listdir(fd_dir)
            except OSError:  # gone, or not ours to read
                continue
            for fd in fds:
                try:
                    match = _SOCKET_LINK.fullmatch(os.readlink(os.path.join(fd_dir, fd)))
                except OSError:
                    continue
                if match and int(match.group(1)) in inodes and int(match.group(1)) not in owners:
                    comm = _read_text(self._proc(str(pid), "comm"))
                    owners[int(match.group(1))] = (pid, comm.strip() if comm is not None else None)
            if len(owners) == len(inodes):
                break
        return owners

    def listeners(self, ports):
        """[{port, address, pid, process}] of the TCP sockets in LISTEN state on any of `ports`."""
        wanted = set(ports)
        if not wanted:
            return []
        sockets = []
        for name, ipv6 in (("tcp", False), ("tcp6", True)):
            text = _read_text(self._proc("net", name))
            if text is not None:
                sockets.extend(s for s in parse_proc_net_tcp(text, ipv6) if s[1] in wanted)
        owners = self._socket_owners({inode for address, port, inode in sockets if inode})
        found = set()
        for address, port, inode in sockets:
            pid, process = owners.get(inode, (None, None))
            found.add((port, address, pid, process))
        return [{"port": port, "address": address, "pid": pid, "process": process}
                for port, address, pid, process in sorted(found, key=lambda e: (e[0], e[1], e[2] or 0))]

    # --- packages ---

    def packages_installed(self, names):
        """(manager, [the names that are installed]), asked of dpkg-query, else rpm."""
        if not names:
            return None, []
        dpkg = self.which("dpkg-query")
        if dpkg:
            rc, out, err = self.run([dpkg, "-W", "-f=${Package}\t${Status}\n", "--"] + list(names))
            if rc not in (0, 1):
                raise ProbeError("dpkg-query failed (exit %d): %s" % (rc, err.strip()))
            installed = set()
            for line in out.splitlines():
                package, sep, status = line.partition("\t")
                if sep and status.split()[-1:] == ["installed"]:
                    installed.add(package)
            return "dpkg", [name for name in names if name.split(":")[0] in installed]
        rpm = self.which("rpm")
        if rpm:
            rc, out, err = self.run([rpm, "-q", "--qf", "%{NAME}\n", "--"] + list(names))
            if err.strip() and not out.strip():
                raise ProbeError("rpm -q failed (exit %d): %s" % (rc, err.strip()))
            installed = set(line.strip() for line in out.splitlines())  # "package X is not installed" never equals X
            return "rpm", [name for name in names if name in installed]
        raise ProbeError("packages: neither dpkg-query nor rpm is on this host's PATH, so the installed packages "
                         "cannot be read")

    def package_result(self, names):
        """What an info module returns of `names`: packages_installed, and package_manager when one was asked."""
        manager, installed = self.packages_installed(names)
        result = {"packages_installed": installed}
        if manager is not None:
            result["package_manager"] = manager
        return result

    # --- path ---

    def path_space(self, path):
        """{path_existing, path_mount, path_free_bytes} of the nearest existing ancestor of `path`."""
        existing = os.path.abspath(path)
        while not os.path.exists(existing):  # follows links, as findmnt does
            parent = os.path.dirname(existing)
            if parent == existing:
                break
            existing = parent
        real = os.path.realpath(existing)
        mount = None
        mountinfo = _read_text(self._proc("self", "mountinfo"))
        if mountinfo is not None:
            for point in parse_mountinfo(mountinfo):
                inside = real == point or real.startswith(point.rstrip("/") + "/")
                if inside and (mount is None or len(point) > len(mount)):
                    mount = point
        if mount is None:
            mount = real
            while not os.path.ismount(mount) and mount != os.path.dirname(mount):
                mount = os.path.dirname(mount)
        st = os.statvfs(existing)
        return {"path_existing": existing, "path_mount": mount, "path_free_bytes": st.f_bavail * st.f_frsize}
