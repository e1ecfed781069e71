"""Runs a play of the collection's roles on this machine (connection local, as root) with a fake `docker` command
first on PATH, so a role's tasks can be exercised without an engine."""

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent

PLAY_HEADER = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
"""


def run_local_play(tmp_path, tasks, fake_docker, *args):
    """Write `fake_docker` as bin/docker (once per tmp_path) and a play of `tasks` (YAML indented for the task list),
    run it with ansible-playbook and the given arguments; the CompletedProcess."""
    bindir = tmp_path / "bin"
    if not bindir.exists():
        bindir.mkdir()
        (bindir / "docker").write_text(fake_docker)
        (bindir / "docker").chmod(0o755)
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY_HEADER + tasks)
    env = dict(os.environ, PATH="%s:%s:%s" % (bindir, BIN, os.environ["PATH"]),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / "build" / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    return subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(playbook), *args],
                          env=env, capture_output=True, text=True, timeout=120)
