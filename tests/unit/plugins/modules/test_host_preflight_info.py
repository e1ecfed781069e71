# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""host_preflight_info: a fake /proc tree and fake commands (listeners over IPv4 and IPv6 with their processes, CPU,
memory, GPUs, packages from dpkg-query or rpm, the nearest existing path and its mount point), then the real
machine's /proc with a socket this test opens."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess

import pytest

from ansible_collections.llmops.ollama.plugins.module_utils._host_probe import HostProbe, ProbeError, parse_mountinfo
from ansible_collections.llmops.ollama.plugins.modules import host_preflight_info
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module

TCP_HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
TCP = TCP_HEADER + "".join([
    # 127.0.0.1:11434 LISTEN, inode 111 (ollama)
    "   0: 0100007F:2CAA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0\n",
    # 0.0.0.0:443 LISTEN, inode 222 (nginx, two processes)
    "   1: 00000000:01BB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1 0 100 0 0 10 0\n",
    # 10.0.0.5:443 ESTABLISHED: not a listener
    "   2: 0500000A:01BB 0600000A:D431 01 00000000:00000000 00:00000000 00000000     0        0 333 1 0 100 0 0 10 0\n",
    # 0.0.0.0:80 LISTEN: not asked for
    "   3: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 666 1 0 100 0 0 10 0\n",
])
TCP6 = TCP_HEADER + "".join([
    # [::]:443 LISTEN, inode 444, no process found
    "   0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 "
    "00:00000000 00000000     0        0 444 1 0 100 0 0 10 0\n",
    # [::1]:11434 LISTEN, inode 555 (ollama)
    "   1: 00000000000000000000000001000000:2CAA 00000000000000000000000000000000:0000 0A 00000000:00000000 "
    "00:00000000 00000000     0        0 555 1 0 100 0 0 10 0\n",
    # [::ffff:127.0.0.1]:3210 LISTEN, inode 777
    "   2: 0000000000000000FFFF00000100007F:0C8A 00000000000000000000000000000000:0000 0A 00000000:00000000 "
    "00:00000000 00000000     0        0 777 1 0 100 0 0 10 0\n",
])
CPUINFO = ("processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu vme sse2 avx avx2 fma\n\n"
           "processor\t: 1\nflags\t\t: fpu vme sse2 avx avx2 fma\n")
MEMINFO = "MemTotal:       65851880 kB\nMemFree:         1000000 kB\nMemAvailable:   30000000 kB\n"


def process(proc, pid, comm, sockets):
    fd_dir = proc / str(pid) / "fd"
    fd_dir.mkdir(parents=True)
    (proc / str(pid) / "comm").write_text(comm + "\n")
    for number, inode in enumerate(sockets, start=3):
        os.symlink("socket:[%d]" % inode, str(fd_dir / str(number)))
    os.symlink("/dev/null", str(fd_dir / "0"))


@pytest.fixture
def fake_proc(tmp_path):
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    (proc / "self").mkdir()
    (proc / "net" / "tcp").write_text(TCP)
    (proc / "net" / "tcp6").write_text(TCP6)
    (proc / "cpuinfo").write_text(CPUINFO)
    (proc / "meminfo").write_text(MEMINFO)
    process(proc, 100, "ollama", [111, 555])
    process(proc, 250, "nginx", [222])
    process(proc, 180, "nginx", [222, 999])
    (proc / "300").mkdir()  # a process whose fd directory cannot be read
    (proc / "self" / "mountinfo").write_text(
        "22 1 0:21 / / rw,relatime - ext4 /dev/sda1 rw\n"
        "30 22 0:30 / %s rw,relatime - ext4 /dev/sdb1 rw\n"
        "31 22 0:31 / /mnt/with\\040space rw - tmpfs tmpfs rw\n" % (tmp_path / "data"))
    return proc


class Commands:
    """which() and run() over a dict of the binaries present: {name: (rc, stdout, stderr)}."""

    def __init__(self, binaries):
        self.binaries = binaries
        self.calls = []

    def which(self, name):
        return "/usr/bin/" + name if name in self.binaries else None

    def run(self, argv):
        self.calls.append(argv)
        return self.binaries[os.path.basename(argv[0])]


def probe(proc, tmp_path, **binaries):
    commands = Commands(binaries)
    dev = tmp_path / "dev"
    dev.mkdir(exist_ok=True)
    return HostProbe(which=commands.which, run=commands.run, proc=str(proc), dev=str(dev)), commands


def test_listeners_over_ipv4_and_ipv6_with_their_processes(fake_proc, tmp_path):
    host, dummy = probe(fake_proc, tmp_path)
    assert host.listeners([443, 11434, 3210, 22]) == [
        {"port": 443, "address": "0.0.0.0", "pid": 180, "process": "nginx"},
        {"port": 443, "address": "::", "pid": None, "process": None},
        {"port": 3210, "address": "::ffff:127.0.0.1", "pid": None, "process": None},
        {"port": 11434, "address": "127.0.0.1", "pid": 100, "process": "ollama"},
        {"port": 11434, "address": "::1", "pid": 100, "process": "ollama"},
    ]
    assert host.listeners([]) == []
    assert host.listeners([22]) == []


def test_cpu_memory_and_gpus(fake_proc, tmp_path):
    smi = (0, "NVIDIA H100 80GB HBM3, 81559\nNVIDIA A10, [N/A]\n", "")
    host, commands = probe(fake_proc, tmp_path, **{"nvidia-smi": smi})
    assert host.cpu_flags_avx2() is True
    assert host.ram_bytes() == 65851880 * 1024
    assert host.gpus_nvidia() == [{"name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559},
                                  {"name": "NVIDIA A10", "memory_mib": None}]
    assert commands.calls == [["/usr/bin/nvidia-smi", "--query-gpu=name,memory.total",
                               "--format=csv,noheader,nounits"]]
    assert host.gpu_amd() is False
    (tmp_path / "dev" / "kfd").write_text("")
    assert host.gpu_amd() is True
    assert host.cpu_cores() >= 1


def test_no_gpu_and_no_avx2(fake_proc, tmp_path):
    (fake_proc / "cpuinfo").write_text("processor\t: 0\nFeatures\t: fp asimd\n")
    host, dummy = probe(fake_proc, tmp_path)
    assert host.cpu_flags_avx2() is False and host.gpus_nvidia() == []
    failing, dummy = probe(fake_proc, tmp_path, **{"nvidia-smi": (9, "", "NVIDIA-SMI has failed")})
    assert failing.gpus_nvidia() == []
    (fake_proc / "meminfo").unlink()
    assert host.ram_bytes() is None


def test_packages_from_dpkg(fake_proc, tmp_path):
    out = "docker.io\tinstall ok installed\npodman\tdeinstall ok config-files\n"
    host, commands = probe(fake_proc, tmp_path, **{"dpkg-query": (1, out, "dpkg-query: no packages found matching moby"),
                                                   "rpm": (0, "", "")})
    assert host.packages_installed(["podman", "docker.io", "moby"]) == ("dpkg", ["docker.io"])
    assert commands.calls[0][:2] == ["/usr/bin/dpkg-query", "-W"]
    assert commands.calls[0][-4:] == ["--", "podman", "docker.io", "moby"]
    assert host.packages_installed([]) == (None, [])


def test_packages_from_rpm(fake_proc, tmp_path):
    out = "podman\npackage docker-ce is not installed\n"
    host, dummy = probe(fake_proc, tmp_path, rpm=(1, out, ""))
    assert host.packages_installed(["docker-ce", "podman", "docker"]) == ("rpm", ["podman"])


def test_packages_without_a_package_database(fake_proc, tmp_path):
    host, dummy = probe(fake_proc, tmp_path)
    with pytest.raises(ProbeError, match="neither dpkg-query nor rpm"):
        host.packages_installed(["podman"])


def test_the_nearest_existing_path_and_its_mount(fake_proc, tmp_path):
    (tmp_path / "data" / "ollama").mkdir(parents=True)
    host, dummy = probe(fake_proc, tmp_path)
    space = host.path_space(str(tmp_path / "data" / "ollama" / "models" / "blobs"))
    assert space["path_existing"] == str(tmp_path / "data" / "ollama")
    assert space["path_mount"] == str(tmp_path / "data")
    st = os.statvfs(str(tmp_path))
    assert abs(space["path_free_bytes"] - st.f_bavail * st.f_frsize) < 64 * 1024 * 1024
    assert host.path_space(str(tmp_path / "elsewhere"))["path_mount"] == "/"
    assert parse_mountinfo((fake_proc / "self" / "mountinfo").read_text())[2] == "/mnt/with space"


def test_the_module_with_fake_input(fake_proc, tmp_path):
    host, dummy = probe(fake_proc, tmp_path, **{"dpkg-query": (0, "nginx\tinstall ok installed\n", "")})
    result = host_preflight_info.probe_host(host, [443, 8080], ["nginx"], str(tmp_path / "data" / "x"))
    assert result["ports_in_use"] == [443]
    assert result["packages_installed"] == ["nginx"] and result["package_manager"] == "dpkg"
    assert result["path_existing"] == str(tmp_path) and result["changed"] is False


def test_the_real_machine(tmp_path):
    """This machine's /proc: a socket this test listens on is found, with this process; CPU, memory and disk."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        args = {"ports": [port], "path": str(tmp_path / "not" / "yet")}
        result = run_module(host_preflight_info, args, check_mode=True)
    finally:
        listener.close()
    assert result.get("failed") is not True, result
    with open("/proc/self/comm") as f:
        comm = f.read().strip()
    assert result["listeners"] == [{"port": port, "address": "127.0.0.1", "pid": os.getpid(), "process": comm}]
    assert result["ports_in_use"] == [port]
    assert result["cpu_cores"] >= 1 and result["ram_bytes"] > 0
    assert isinstance(result["cpu_flags_avx2"], bool) and isinstance(result["gpu_amd"], bool)
    assert result["path_existing"] == str(tmp_path) and result["path_free_bytes"] > 0
    assert os.path.ismount(result["path_mount"])
    assert "package_manager" not in result and result["packages_installed"] == []


@pytest.mark.ci_may_skip("the machine has neither dpkg-query nor rpm")
def test_the_real_package_database():
    if shutil.which("dpkg-query"):
        present = subprocess.run(["dpkg-query", "-W", "-f=${Package}\n", "coreutils"], capture_output=True, text=True,
                                 check=False)
        expected = "dpkg"
    elif shutil.which("rpm"):
        present = subprocess.run(["rpm", "-q", "--qf", "%{NAME}\n", "coreutils"], capture_output=True, text=True,
                                 check=False)
        expected = "rpm"
    else:
        pytest.skip("neither dpkg-query nor rpm")
    result = run_module(host_preflight_info, {"packages": ["coreutils", "no-such-package-llmops"]})
    assert result["package_manager"] == expected
    assert result["packages_installed"] == (["coreutils"] if present.stdout.strip() == "coreutils" else [])


def test_an_invalid_port_fails():
    result = run_module(host_preflight_info, {"ports": [70000]})
    assert result["failed"] is True and "70000" in result["msg"]


# sizing: the models sized in the same call (the preflight role's one call per host)


def test_the_models_are_sized_in_the_same_call(fake, registry, tmp_path):
    fake.add_local("qwen:14b", parameter_size="14.2B")
    args = {"path": str(tmp_path), "sizing": {"models": ["qwen:14b", "phi3:3.8b"], "api_url": fake.url, "timeout": 5,
                                              "registry_url": registry.url, "models_dir": str(tmp_path / "models")}}
    result = run_module(host_preflight_info, args, check_mode=True)
    assert result.get("failed") is not True, result
    assert result["path_existing"] == str(tmp_path) and result["ram_bytes"] > 0
    qwen, phi = result["sizing"]["models"]
    assert (qwen["name"], qwen["params_b"], qwen["params_from"], qwen["on_host"]) == ("qwen:14b", 14.2, "host", True)
    # The registry lacks it: reported, and the tag tells.
    assert (phi["params_b"], phi["params_from"], phi["bytes_from"]) == (3.8, "tag", "estimate")
    assert [(f["source"], f["model"]) for f in result["sizing"]["failures"]] == [("registry", "phi3:3.8b")]
    assert fake.calls() == [("GET", "/api/tags")]


def test_without_sizing_no_model_is_sized(fake, tmp_path):
    result = run_module(host_preflight_info, {"path": str(tmp_path)}, check_mode=True)
    assert "sizing" not in result
    assert fake.requests == []


@pytest.mark.parametrize("sizing, message", [
    ({"models": ["http://example.com/x"]}, "sizing.models: 'http://example.com/x' has a URL scheme"),
    ({"models": ["qwen:14b"], "registry_url": "https://user:pw@registry.example.com"},
     "sizing.registry_url: the URL carries credentials"),
    ({"models": ["qwen:14b"], "registry_timeout": 0}, "sizing.registry_timeout: 0 must be a positive number of seconds"),
    ({"models": ["qwen:14b"], "default_params_b": -1}, "sizing.default_params_b: -1.0 must not be negative"),
])
def test_an_invalid_sizing_option_fails_before_any_request(fake, registry, sizing, message):
    sizing = dict({"api_url": fake.url, "registry_url": registry.url}, **sizing)
    result = run_module(host_preflight_info, {"sizing": sizing})
    assert result["failed"] is True
    assert message in result["msg"] and "pw" not in result["msg"]
    assert fake.requests == [] and registry.requests == []
