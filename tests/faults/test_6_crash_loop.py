"""Item 4: Ollama crash-loops because of a broken setting (OLLAMA_HOST that cannot be bound, via
ollama_extra_env). The role must fail within a bound (ollama_api_wait_timeout) and show the
container's last log lines, never wait forever. The host is repaired by a normal converge after."""
import time

import faultlab as fl

WAIT = 30               # ollama_api_wait_timeout for this run
# Reading the container's state and logs, and the play's own overhead after the wait: 20-45 s on an
# idle machine, 75 s in a clean-clone CI run with both cores busy. The bound is about "never waits
# forever", not about speed.
SLACK = 150


def test_crash_loop_fails_bounded_with_logs(lab, figure, tmp_path):
    f = figure("4 crash loop", "site.yml with ollama_extra_env OLLAMA_HOST=bogus-host:11434 "
               "(Ollama exits at start), ollama_api_wait_timeout=%d" % WAIT)
    env = dict(lab.vars.get("ollama_extra_env", {"OLLAMA_DOUBLE_UPSTREAM": "http://10.213.0.2:5000"}))
    env["OLLAMA_HOST"] = "bogus-host:11434"
    log = tmp_path / "crash.log"
    # The repair runs whatever the checks found: the next fault test starts from a healthy host.
    try:
        proc = fl.start_play({"ollama_extra_env": env, "ollama_api_wait_timeout": WAIT, **lab.vars}, log=str(log))
        wait_started = None
        while proc.poll() is None and time.monotonic() - proc.started < 600:
            if wait_started is None and "TASK [llmops.ollama.ollama : Wait until the Ollama API answers" in log.read_text():
                wait_started = time.monotonic()
            time.sleep(0.5)
        res = fl.finish_play(proc, timeout=600)
        ended = time.monotonic()
        waited = ended - wait_started if wait_started else None
        state = fl.inner_docker(fl.HOST, "inspect", "-f", "{{.State.Status}} restarts={{.RestartCount}}", "ollama").stdout.strip()
        msgs = res.fatal_msgs()
        msg = msgs[-1] if msgs else ""
        f.add("failed after the wait began", "%.0f s (bound %d + %d s)" % (waited or -1, WAIT, SLACK))
        f.add("whole play", "%.0f s" % res.seconds)
        f.add("container", state)
        f.add("message", msg[:220].replace("\n", " / ") + "...")
        assert res.rc != 0 and res.failed() == 1, res.tail(60)
        assert waited is not None and waited <= WAIT + SLACK, "the wait was not bounded: %s s" % waited
        assert fl.HOST in msg and "did not answer" in msg
        assert "log lines" in msg
        # The container's own words are in the message (the double and Ollama both name the address).
        assert "bogus-host" in msg.split("log lines", 1)[1], msg
        assert "restarts" in msg
    finally:
        repair = lab.converge(timeout=600, log=str(tmp_path / "repair.log"))
        f.add("repair converge", "%.0f s, rc=%d" % (repair.seconds, repair.rc))
        assert repair.rc == 0, repair.tail(60)
        fl.wait_until(lambda: fl.both_healthy(fl.HOST), 120, "both containers healthy after the repair")
