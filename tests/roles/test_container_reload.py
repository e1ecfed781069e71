"""The private _container role's reload entry point: the server in a container is told to load its configuration
again when what it must load differs from the record of what it last loaded, so that a configuration written by a run
that ended before its reload is still loaded by the next run (no silent stale configuration). Runs ansible-playbook on
this machine with a docker command that logs what it is asked to run in a container."""

from local_play import run_local_play

TASKS = """
    - name: Include the role as the front door and the API guard do
      ansible.builtin.include_role:
        name: llmops.ollama._container
        tasks_from: reload
        rolespec_validate: false
      vars:
        _container_engine: docker
        _container_reload:
          container: web
          command: [nginx, -s, reload]
          record: %(record)s
          loads: "{{ loads }}"
          started: "{{ started | bool }}"
        _container_register: web_reload

    - name: Say what the role was told
      ansible.builtin.debug:
        msg: "reloaded={{ web_reload.changed }}"
"""

# Logs what it is asked to do: the only call the entry point makes to the engine is the reload.
FAKE_DOCKER = """#!/bin/sh
echo "$*" >>"%(calls)s"
"""


# A container restarting in a loop: Docker refuses an exec into it, and restarts it when asked.
RESTARTING_DOCKER = """#!/bin/sh
echo "$*" >>"%(calls)s"
if [ "$1" = exec ]; then
  echo "Error response from daemon: Container 0123abcd is restarting, wait until the container is running" >&2
  exit 1
fi
"""


def run_play(tmp_path, loads, started=False, *args, docker=FAKE_DOCKER):
    """(the play's output, the engine calls it made, what the record holds after it)."""
    calls, record = tmp_path / "calls", tmp_path / "conf" / "loaded.sha256"
    done = run_local_play(tmp_path, TASKS % {"record": record}, docker % {"calls": calls},
                          "-e", "loads=%s started=%s" % (loads, started), *args)
    assert done.returncode == 0, done.stdout + done.stderr
    execs = calls.read_text().splitlines() if calls.exists() else []
    calls.unlink(missing_ok=True)
    return done.stdout, execs, record.read_text().strip() if record.exists() else None


def changed(output):
    return int(output.split("changed=")[-1].split()[0])


def test_the_server_loads_again_only_what_differs_from_the_record(tmp_path):
    out, execs, recorded = run_play(tmp_path, "aaa")
    assert execs == ["exec web nginx -s reload"] and recorded == "aaa" and "reloaded=True" in out

    out, execs, recorded = run_play(tmp_path, "aaa")
    assert execs == [] and recorded == "aaa" and "reloaded=False" in out and changed(out) == 0

    # What an earlier run wrote but never had loaded (it ended between the write and the reload) differs from the
    # record, whatever this run changes: the server is told again.
    out, execs, recorded = run_play(tmp_path, "bbb")
    assert execs == ["exec web nginx -s reload"] and recorded == "bbb" and "reloaded=True" in out


def test_a_container_started_in_this_run_is_not_told_but_recorded(tmp_path):
    out, execs, recorded = run_play(tmp_path, "aaa", True)
    assert execs == [] and recorded == "aaa"
    out, execs, recorded = run_play(tmp_path, "aaa")
    assert execs == [] and changed(out) == 0


def test_check_mode_predicts_the_reload_and_does_nothing(tmp_path):
    run_play(tmp_path, "aaa")
    out, execs, recorded = run_play(tmp_path, "bbb", False, "--check")
    assert execs == [] and recorded == "aaa"
    assert changed(out) == 1, out


def test_a_container_that_refuses_the_reload_is_restarted_and_the_run_says_so(tmp_path):
    out, execs, recorded = run_play(tmp_path, "aaa", docker=RESTARTING_DOCKER)
    assert execs == ["exec web nginx -s reload", "restart --time 10 web"], execs
    assert recorded == "aaa" and "reloaded=True" in out
    assert "web refused the reload (Error response from daemon: Container 0123abcd is restarting" in out
    assert "it was restarted and loads its configuration as it starts" in out
    out, execs, recorded = run_play(tmp_path, "aaa", docker=RESTARTING_DOCKER)
    assert execs == [] and changed(out) == 0
