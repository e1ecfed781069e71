"""The private _container role checks the specification it is given when it uses it (the including roles skip the
entry point's validation), before it changes anything on the host. Runs ansible-playbook on this machine with a
docker command that knows no container, so the role finds something to do without an engine being asked to act."""

from local_play import run_local_play

TASKS = """
    - name: Include the role as the collection's roles do
      ansible.builtin.include_role:
        name: llmops.ollama._container
        tasks_from: run
        rolespec_validate: false
      vars:
        _container_engine: docker
        _container_spec:
          name: probe
          image: 127.0.0.1:5000/probe:1
          networks: [{name: probe-net}]
          restart_policy: %(restart_policy)s
        _container_directories:
          - path: %(directory)s
"""

# Answers what container_state_info asks: no labelled container, no network.
FAKE_DOCKER = """#!/bin/sh
case "$1" in
  ps|network) exit 0 ;;
  *) echo "unexpected: $*" >&2; exit 3 ;;
esac
"""


def run_play(tmp_path, restart_policy, *args):
    directory = tmp_path / "data"
    done = run_local_play(tmp_path, TASKS % {"restart_policy": restart_policy, "directory": directory}, FAKE_DOCKER,
                          *args)
    return done, directory


def test_a_bad_specification_is_refused_before_anything_changes(tmp_path):
    done, directory = run_play(tmp_path, "sometimes")
    assert done.returncode != 0, done.stdout
    assert "restart_policy" in done.stdout and "sometimes" in done.stdout, done.stdout
    assert not directory.exists(), "the directory was created before the specification was checked"


def test_check_mode_predicts_the_directory_and_creates_nothing(tmp_path, monkeypatch):
    # No engine answers the container task (DOCKER_HOST names no socket): the run ends there, after the directory.
    monkeypatch.setenv("DOCKER_HOST", "unix://%s/no.sock" % tmp_path)
    done, directory = run_play(tmp_path, "always", "--check")
    step = done.stdout.split("Create the directories the container's bind mounts need", 1)[1]
    assert step.split("TASK [", 1)[0].count("changed:") == 1, done.stdout
    assert not directory.exists()
