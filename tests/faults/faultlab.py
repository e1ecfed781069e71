"""Helpers of the fault tests (tests/faults): playbook runs, commands in lab hosts, the lab
registry's access log, bounded waits. A unique module name, not conftest, so tests import it."""
import atexit
import functools
import hashlib
import json
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent
INVENTORY = HERE / "inventory" / "hosts.yml"
VENV_BIN = ROOT / ".venv" / "bin"
LAB_BIN = ROOT / "lab" / "bin" / "lab"
REGISTRY = "http://127.0.0.1:5000"
REGISTRY_CONTAINER = "llmops-lab-registry"
BLOBS_CONTAINER = "llmops-lab-blobs"   # the host the lab registry redirects blob GETs to (lab/bin/lab)
HOST = "llmops-faults"          # the converged lab host (Debian 12, Docker)
PROBE = "llmops-faults-probe"   # a bare lab host on the same network (no engine): the outside world
BIG_MODEL = "qwen2.5:3b"        # ~300 MiB body, for faults in the middle of a pull
SMALL_MODEL = "qwen2.5:0.5b"


def versions():
    out = {}
    for line in (ROOT / "lab" / "versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key] = " ".join(shlex.split(value))
    return out


class Failed(AssertionError):
    pass


@functools.cache
def scratch():
    """This process's directory for the plays' variables files, logs and key files (they hold the lab's
    secrets), removed when the process ends."""
    where = tempfile.mkdtemp(prefix="llmops-faults-")
    atexit.register(shutil.rmtree, where, True)
    return where


def sh(cmd, timeout=120, check=True, **kw):
    """Run argv on the build machine, bounded; return CompletedProcess (text)."""
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and res.returncode != 0:
        raise Failed("%s -> rc %s\nstdout: %s\nstderr: %s" % (cmd, res.returncode, res.stdout[-3000:], res.stderr[-3000:]))
    return res


def in_host(host, script, timeout=60, check=True):
    """Run a shell script inside a lab host."""
    return sh(["docker", "exec", host, "sh", "-c", script], timeout=timeout, check=check)


def inner_docker(host, *args, timeout=60, check=True):
    """The lab host's own engine (the one the container_runtime role installed)."""
    return sh(["docker", "exec", host, "docker", *args], timeout=timeout, check=check)


def api(host, path, timeout=10):
    """GET Ollama's API on the lab host itself (127.0.0.1:11434, where the role publishes it)."""
    res = in_host(host, "curl -sS -m %d http://127.0.0.1:11434%s" % (timeout, path), timeout=timeout + 10)
    return json.loads(res.stdout)


def model_set(host):
    """{name: digest} as Ollama lists them."""
    return {m["name"]: m["digest"] for m in api(host, "/api/tags")["models"]}


def wait_until(predicate, timeout, what, interval=1.0):
    """Poll predicate() until truthy; return (value, seconds) or raise after timeout."""
    start = time.monotonic()
    last = None
    while time.monotonic() - start < timeout:
        try:
            value = predicate()
            if value:
                return value, time.monotonic() - start
        except Exception as exc:  # noqa: BLE001 - report the last error on timeout
            last = exc
        time.sleep(interval)
    raise Failed("timed out after %ss waiting for %s (last error: %s)" % (timeout, what, last))


def health(host, name):
    res = inner_docker(host, "inspect", "-f", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}",
                       name, check=False, timeout=20)
    return res.stdout.strip() if res.returncode == 0 else "missing"


def both_healthy(host):
    return health(host, "ollama") == "running healthy" and health(host, "lobechat") == "running healthy"


def container_id(host, name):
    res = inner_docker(host, "inspect", "-f", "{{.Id}}", name, check=False, timeout=20)
    return res.stdout.strip() if res.returncode == 0 else None


RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+"
                   r"skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)", re.M)


class PlayResult:
    def __init__(self, proc, seconds, output):
        self.rc = proc.returncode if proc is not None else None
        self.seconds = seconds
        self.output = output
        self.recap = {}
        for m in RECAP.finditer(output):
            keys = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")
            self.recap[m.group(1)] = dict(zip(keys, map(int, m.groups()[1:])))

    def changed(self, host=HOST):
        return self.recap[host]["changed"]

    def failed(self, host=HOST):
        return self.recap[host]["failed"] + self.recap[host]["unreachable"]

    def fatal_messages(self):
        """The text of every fatal/failed line (what a user reads)."""
        return "\n".join(line for line in self.output.splitlines()
                         if line.startswith(("fatal:", "failed:")) or '"msg"' in line)

    def fatal_msgs(self):
        """The `msg` of every fatal/failed result (what a user reads), without the argument-spec dump."""
        out = []
        for line in self.output.splitlines():
            if line.startswith(("fatal:", "failed:")) and "=> " in line:
                body = line.split("=> ", 1)[1]
                try:
                    out.append(str(json.loads(body).get("msg", body)))
                except ValueError:
                    out.append(body)
        return out

    def failing_task(self):
        """Name of the task that failed first."""
        task = None
        for line in self.output.splitlines():
            if line.startswith("TASK ["):
                task = line
            elif line.startswith(("fatal:", "failed:")):
                return task
        return None

    def tail(self, n=60):
        return "\n".join(self.output.splitlines()[-n:])


def env():
    e = dict(os.environ)
    e["ANSIBLE_COLLECTIONS_PATH"] = sh([str(ROOT / "tests" / "collection_path.sh")]).stdout.strip()
    e.update({"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_HOST_KEY_CHECKING": "0",
              "ANSIBLE_RETRY_FILES_ENABLED": "0", "PYTHONUNBUFFERED": "1",
              "PATH": "%s:%s" % (VENV_BIN, os.environ.get("PATH", ""))})
    e.pop("ANSIBLE_CONFIG", None)
    return e


ENV = None


def play_cmd(extra_vars=None, limit=HOST, playbook="site.yml", args=()):
    global ENV
    if ENV is None:
        ENV = env()
    cmd = [str(VENV_BIN / "ansible-playbook"), "-i", str(INVENTORY), str(ROOT / playbook)]
    if limit:
        cmd += ["-l", limit]
    if extra_vars:
        fd, path = tempfile.mkstemp(prefix="vars-", suffix=".json", dir=scratch())
        with os.fdopen(fd, "w") as f:
            json.dump(extra_vars, f)
        cmd += ["-e", "@" + path]
    return cmd + list(args)


def start_play(extra_vars=None, limit=HOST, playbook="site.yml", args=(), log=None):
    """Start ansible-playbook in the background; output goes to the file `log`."""
    cmd = play_cmd(extra_vars, limit, playbook, args)
    out = open(log, "w")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=str(ROOT), env=ENV, text=True)
    proc.log_path, proc.log_file, proc.started = log, out, time.monotonic()
    return proc


def finish_play(proc, timeout):
    try:
        proc.wait(timeout=max(1, timeout - (time.monotonic() - proc.started)))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        proc.log_file.close()
        raise Failed("ansible-playbook did not end within %ss (a hang):\n%s"
                     % (timeout, pathlib.Path(proc.log_path).read_text()[-4000:]))
    proc.log_file.close()
    seconds = time.monotonic() - proc.started
    return PlayResult(proc, seconds, pathlib.Path(proc.log_path).read_text())


def run_play(extra_vars=None, limit=HOST, playbook="site.yml", args=(), timeout=600, log=None):
    if log is None:
        fd, log = tempfile.mkstemp(prefix="play-", suffix=".log", dir=scratch())
        os.close(fd)
    proc = start_play(extra_vars, limit, playbook, args, log)
    return finish_play(proc, timeout)


# --- the lab registry's access log -------------------------------------------------------------

ACCESS = re.compile(r'^(\S+) - - \[[^\]]+\] "GET (/v2/(\S+)/blobs/(sha256:[0-9a-f]{64})) HTTP/[\d.]+" (\d{3}) (\d+)', re.M)


def registry_log_since(since_epoch):
    """Access-log lines of the lab registry since a time (docker logs --since, seconds epoch)."""
    res = sh(["docker", "logs", "--since", "%.3f" % since_epoch, REGISTRY_CONTAINER], timeout=60)
    return res.stdout + res.stderr


def blob_bytes(log_text, digests=None, repo_prefix=None, client=None):
    """Bytes the registry wrote for GET blob requests (optionally only these digests / repos / client IP)."""
    total = 0
    count = 0
    for m in ACCESS.finditer(log_text):
        ip, _, repo, digest, _status, size = m.groups()
        if client is not None and ip != client:
            continue
        if digests is not None and digest not in digests:
            continue
        if repo_prefix is not None and not repo.startswith(repo_prefix):
            continue
        total += int(size)
        count += 1
    return total, count


def registry_manifest(model):
    """The lab registry's manifest of `model:tag` (library namespace) and its digest."""
    name, _, tag = model.partition(":")
    req = urllib.request.Request("%s/v2/library/%s/manifests/%s" % (REGISTRY, name, tag or "latest"),
                                 headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = resp.read()
    return json.loads(raw), hashlib.sha256(raw).hexdigest()


def registry_answers():
    try:
        with urllib.request.urlopen(REGISTRY + "/v2/", timeout=3) as resp:
            return resp.status == 200
    except Exception:  # noqa: BLE001
        return False


# --- slowing the registry side down, inside the lab host ---------------------------------------
# The lab's kernel has no ingress policing (act_police), but tbf works on egress: shaping the
# lab host's inner bridge of the private network (the path registry -> Ollama container) slows
# Ollama's downloads only; image pulls by the inner dockerd and ansible's docker exec are untouched.

def bridge(host, network="llmops"):
    """The network's bridge: the name the ollama role gives it (llmops.ollama.network_bridge), else br-<id>."""
    data = json.loads(inner_docker(host, "network", "inspect", network).stdout)[0]
    return (data.get("Options") or {}).get("com.docker.network.bridge.name") or "br-" + data["Id"][:12]


def throttle(host, rate="64mbit"):
    dev = bridge(host)
    in_host(host, "tc qdisc replace dev %s root tbf rate %s burst 64kb latency 500ms" % (dev, rate))
    return dev


def unthrottle(host):
    in_host(host, "tc qdisc del dev %s root 2>/dev/null || true" % bridge(host), check=False)


def host_ip(name):
    return sh(["docker", "inspect", "-f", '{{(index .NetworkSettings.Networks "llmops-lab").IPAddress}}',
               name]).stdout.strip()


def file_bytes(host, path):
    """Allocated bytes of a file in a lab host (0 when absent)."""
    res = in_host(host, "stat -c '%%b %%B' %s 2>/dev/null || echo '0 0'" % shlex.quote(path), check=False)
    blocks, size = res.stdout.split()[:2]
    return int(blocks) * int(size)


def rx_bytes(host, container="ollama"):
    """Bytes received on the container's network interfaces (its netns counters, loopback excluded):
    what really came over the wire, interrupted transfers included."""
    pid = inner_docker(host, "inspect", "-f", "{{.State.Pid}}", container).stdout.strip()
    text = in_host(host, "cat /proc/%s/net/dev" % pid).stdout
    total = 0
    for line in text.splitlines()[2:]:
        iface, _, data = line.partition(":")
        if iface.strip() != "lo":
            total += int(data.split()[0])
    return total
