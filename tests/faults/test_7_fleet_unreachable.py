"""Item 6: in a fleet rollout (playbooks/rollout.yml), a host becomes unreachable mid-run. Fleet:
the converged fault host and a fresh lab host, one batch (rollout_serial 2) with
rollout_max_fail_percentage 50 (one host of two = 50 %, not exceeded: the others must finish).
The fresh host's lab container is killed (power loss) while it pulls the Ollama image; after it
boots again a re-run must change only that host."""
import time

import pytest

import faultlab as fl

F2 = "llmops-faults-f2"
# The Ollama container task, where the engine pulls the image (roles/_container runs every container).
KILL_AT = "TASK [llmops.ollama._container : Run the container with Docker | ollama]"


@pytest.fixture
def second_host():
    fl.sh([str(fl.LAB_BIN), "host", "rm", F2], check=False, timeout=120)
    fl.sh([str(fl.LAB_BIN), "host", "up", F2, "--debian", "12"], timeout=180)
    yield F2
    fl.sh([str(fl.LAB_BIN), "host", "rm", F2], check=False, timeout=120)


def test_unreachable_host_mid_rollout(lab, figure, second_host, tmp_path):
    f = figure("6 fleet: host unreachable mid-run", "rollout.yml on %s + %s, rollout_serial 2, "
               "rollout_max_fail_percentage 50; `docker kill %s` at the Ollama container task; "
               "`docker start`, re-run" % (fl.HOST, F2, F2))
    # A group (not "a,b" in llmops_target_hosts: rollout.yml appends ":&rollout_preflight_passed" to it,
    # which a comma-separated list does not take; see the issue-6 report), and no -l: the summary
    # play runs on localhost.
    extra = dict(lab.vars, llmops_target_hosts="faults_fleet", rollout_serial=2, rollout_max_fail_percentage=50)
    ids_before = {n: fl.container_id(fl.HOST, n) for n in ("ollama", "lobechat")}
    log = tmp_path / "rollout1.log"
    proc = fl.start_play(extra, limit=None, playbook="playbooks/rollout.yml", log=str(log))
    killed = None
    while proc.poll() is None and time.monotonic() - proc.started < 900:
        if killed is None and KILL_AT in log.read_text():
            # At once: the image comes from the lab registry in about a second now, and a kill that lands
            # after the container started leaves Docker 20.10 with a stale allocation of 127.0.0.1:11434
            # after the reboot ("port is already allocated" on the re-run) - a different fault, not handled
            # by the role yet (issue 11's note).
            fl.sh(["docker", "kill", F2], timeout=60)
            killed = time.monotonic()
        time.sleep(0.5)
    res = fl.finish_play(proc, timeout=900)
    f.add("first run", "%.0f s, rc=%s" % (res.seconds, res.rc))
    f.add("recap %s" % F2, "unreachable=%d failed=%d" % (res.recap.get(F2, {}).get("unreachable", -1),
                                                         res.recap.get(F2, {}).get("failed", -1)))
    f.add("recap %s" % fl.HOST, "changed=%d failed=%d" % (res.recap[fl.HOST]["changed"], res.recap[fl.HOST]["failed"]))
    assert killed is not None, "the rollout never reached %s:\n%s" % (KILL_AT, res.tail(40))
    # Over the docker connection a vanished host fails its task ("container is not running") rather than
    # being marked unreachable as over SSH; either way it is lost mid-run and counts against the batch.
    assert res.recap[F2]["unreachable"] + res.recap[F2]["failed"] >= 1, res.tail(60)
    lost = [m for m in res.fatal_msgs() if F2 in m]
    f.add("message", (lost[0][:200] + "...") if lost else "-")
    summary = "PLAY [Report the rollout]" in res.output and "no hosts matched" not in \
        res.output.split("PLAY [Report the rollout]", 1)[-1][:300]
    f.add("summary play ran (the batch did not stop the rollout)", summary)
    assert summary, res.tail(40)
    assert res.recap[fl.HOST]["failed"] == 0 and res.recap[fl.HOST]["unreachable"] == 0, res.tail(60)
    gate = [line for line in res.output.split("TASK [Note that this host passed its health gate]", 1)[-1].splitlines()[:4]
            if line.startswith("ok: [%s]" % fl.HOST)]
    f.add("other host passed its health gate", bool(gate))
    assert gate, "the reachable host did not finish its health gate:\n%s" % res.tail(60)
    assert {n: fl.container_id(fl.HOST, n) for n in ("ollama", "lobechat")} == ids_before

    # The host comes back; the re-run changes only it.
    fl.sh(["docker", "start", F2], timeout=60)
    fl.wait_until(lambda: fl.in_host(F2, "systemctl is-system-running", check=False).stdout.strip()
                  in ("running", "degraded"), 120, "%s booted" % F2)
    res2 = fl.run_play(extra, limit=None, playbook="playbooks/rollout.yml", timeout=900,
                       log=str(tmp_path / "rollout2.log"))
    f.add("re-run", "%.0f s, rc=%s, changed: %s=%d, %s=%d" % (
        res2.seconds, res2.rc, fl.HOST, res2.recap.get(fl.HOST, {}).get("changed", -1),
        F2, res2.recap.get(F2, {}).get("changed", -1)))
    assert res2.rc == 0, res2.tail(60)
    assert res2.recap[fl.HOST]["changed"] == 0
    assert res2.recap[F2]["changed"] > 0
    fl.wait_until(lambda: fl.both_healthy(F2), 120, "both containers healthy on %s" % F2)
