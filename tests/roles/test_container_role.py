"""The private _container role checks the specification it is given when it uses it (the including roles skip the
entry point's validation), before it changes anything on the host. Runs ansible-playbook on this machine with a
docker command that knows no container, so the role finds something to do without an engine being asked to act."""

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
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
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "docker").write_text(FAKE_DOCKER)
    (bindir / "docker").chmod(0o755)
    directory = tmp_path / "data"
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY % {"restart_policy": restart_policy, "directory": directory})
    env = dict(os.environ, PATH="%s:%s:%s" % (bindir, pathlib.Path(sys.executable).parent, os.environ["PATH"]),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / "build" / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    done = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
                           str(playbook), *args], env=env, capture_output=True, text=True, timeout=120)
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
