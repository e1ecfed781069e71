"""Item 3: the Ollama container is killed (SIGKILL of its process, as the OOM killer does), the
container engine is restarted, the lab host is restarted. Each time both containers must come
back healthy by themselves within 120 s with the same models, every other container running (healthy
where it has a health check) and the front door answering on 443; a re-run must report changed=0.
(The Docker molecule scenario leaves its own reboot test to this one; the Podman scenario runs it.)"""
import time

import pytest

import faultlab as fl

BOUND = 120
# Every container site.yml runs on the fault host with LobeHub, beside Ollama and LobeHub themselves.
OTHERS = ("ollama-guard", "lobechat-postgres", "lobechat-redis", "front-door")


def _kill_ollama():
    pid = fl.inner_docker(fl.HOST, "inspect", "-f", "{{.State.Pid}}", "ollama").stdout.strip()
    fl.in_host(fl.HOST, "kill -9 %s" % pid)


def _restart_engine():
    fl.in_host(fl.HOST, "systemctl restart docker", timeout=120)


def _restart_host():
    fl.sh(["docker", "restart", "-t", "20", fl.HOST], timeout=120)


FAULTS = [
    ("ollama-killed", "kill -9 of the Ollama container's process", _kill_ollama),
    ("engine-restarted", "systemctl restart docker in the lab host", _restart_engine),
    ("host-restarted", "docker restart of the lab host (systemd boots again)", _restart_host),
]


def _down_seen(host):
    """True while either container is not running healthy (or the host does not answer)."""
    try:
        return not fl.both_healthy(host)
    except Exception:  # noqa: BLE001 - the host itself is restarting
        return True


def _others_up():
    states = {name: fl.health(fl.HOST, name) for name in OTHERS}
    return states if all(state in ("running", "running healthy") for state in states.values()) else None


def _front_door_answers():
    code = fl.in_host(fl.HOST, "curl -sk -o /dev/null -w '%{http_code}' --max-time 20 https://127.0.0.1/api/auth/ok",
                      check=False).stdout.strip()
    return code if code == "200" else None


@pytest.mark.parametrize("fault", FAULTS, ids=[f[0] for f in FAULTS])
def test_comes_back_by_itself(lab, figure, fault, tmp_path):
    case, what, inject = fault
    f = figure("3 recovery", what)
    before = fl.model_set(fl.HOST)
    restarts0 = fl.inner_docker(fl.HOST, "inspect", "-f", "{{.RestartCount}}", "ollama").stdout.strip()
    started = time.monotonic()
    inject()
    # Was there an outage at all? (live-restore keeps containers running through an engine restart.)
    outage = False
    end = time.monotonic() + 5
    while time.monotonic() < end and not outage:
        outage = _down_seen(fl.HOST)
        time.sleep(0.3)
    _, _ = fl.wait_until(lambda: fl.both_healthy(fl.HOST), BOUND, "both containers healthy again", interval=1)
    recovery = time.monotonic() - started
    after = fl.model_set(fl.HOST)
    restarts1 = fl.inner_docker(fl.HOST, "inspect", "-f", "{{.RestartCount}}", "ollama").stdout.strip()
    f.add("both healthy after", "%.0f s (bound %d s)" % (recovery, BOUND))
    f.add("outage seen", "yes" if outage else "no (containers kept running)")
    f.add("Ollama RestartCount", "%s -> %s" % (restarts0, restarts1))
    f.add("same models", "%s (%d)" % (after == before, len(after)))
    # The others follow Ollama and LobeHub (the front door waits on nothing; the database's health check runs every
    # 5 s): read once all are up, bounded.
    others, _ = fl.wait_until(_others_up, 60, "every other container running", interval=1)
    f.add("the other containers", ", ".join("%s %s" % kv for kv in sorted(others.items())))
    front, _ = fl.wait_until(_front_door_answers, 60, "the front door answering 200", interval=2)
    f.add("front door, https://127.0.0.1/api/auth/ok", "HTTP %s" % front)
    assert after == before
    res = lab.converge(timeout=600, log=str(tmp_path / "rerun.log"))
    f.add("re-run", "%.0f s, changed=%d" % (res.seconds, res.changed() if res.recap else -1))
    assert res.rc == 0, res.tail(60)
    assert res.changed() == 0, [line for line in res.output.splitlines() if line.startswith("changed:")]
