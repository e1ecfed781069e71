# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The module ollama_generate against the lab's Ollama double (lab/doubles/ollama) while a model loads
for longer than the module's per-read time-out: the double, like Ollama, sends nothing until the
model is in memory (OLLAMA_DOUBLE_LOAD_SECONDS_PER_GB, proportional to the model's size)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lab_processes import REPO

# The collection, importable as ansible_collections.llmops.ollama (tests/collection_path.sh links it).
sys.path.insert(0, subprocess.run([str(REPO / "tests" / "collection_path.sh")], check=True, capture_output=True,
                                  text=True).stdout.strip())

from ansible_collections.llmops.ollama.plugins.modules import ollama_generate  # noqa: E402
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module  # noqa: E402
MODEL = "qwen2.5:0.5b"
LOAD_SECONDS = 3.0
READ_TIMEOUT = 1


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def slow_double(tmp_path_factory):
    """The double with MODEL on disk, taking LOAD_SECONDS to load it."""
    workdir = tmp_path_factory.mktemp("slow-double")
    models = workdir / "models"
    installed = subprocess.run([sys.executable, str(REPO / "lab" / "models" / "install.py"), str(models), MODEL],
                               capture_output=True, text=True, check=True, cwd=str(REPO / "lab" / "models"))
    size = int(installed.stdout.split()[1])
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("OLLAMA_")}
    env.update({"OLLAMA_HOST": "127.0.0.1:%d" % port, "OLLAMA_MODELS": str(models), "OLLAMA_DOUBLE_VERSION": "0.17.1",
                "OLLAMA_DOUBLE_TOKEN_DELAY": "0", "OLLAMA_DOUBLE_LOAD_SECONDS_PER_GB": str(LOAD_SECONDS / (size / 1e9))})
    with open(workdir / "ollama.log", "wb") as log:
        process = subprocess.Popen([sys.executable, str(REPO / "lab" / "doubles" / "ollama" / "ollama"), "serve"],
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    url = "http://127.0.0.1:%d" % port
    deadline = time.monotonic() + 15
    while True:
        try:
            with urllib.request.urlopen(url + "/", timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("the double did not start: %s" % (workdir / "ollama.log").read_text())
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(10)


def _ask(url, **params):
    # keep_alive 0: the model is unloaded after each answer, so every test pays the load again
    args = {"api_url": url, "model": MODEL, "prompt": "Say OK.", "timeout": READ_TIMEOUT, "keep_alive": 0}
    args.update(params)
    if "messages" in args:
        del args["prompt"]
    return run_module(ollama_generate, args)


def test_a_load_longer_than_the_read_timeout_succeeds_within_load_timeout(slow_double):
    result = _ask(slow_double, load_timeout=30)
    assert result.get("failed") is not True, result
    assert result["response"].startswith("I am %s" % MODEL)
    assert LOAD_SECONDS * 0.9 <= result["load_seconds"] < 30
    assert result["load_seconds"] > READ_TIMEOUT
    assert result["load_duration"] >= LOAD_SECONDS * 0.9 * 1e9  # the double's own figure agrees


def test_a_chat_waits_for_the_load_the_same_way(slow_double):
    result = _ask(slow_double, messages=[{"role": "user", "content": "Hi"}], load_timeout=30)
    assert result.get("failed") is not True, result
    assert result["message"]["content"].startswith("I am %s" % MODEL)
    assert result["load_seconds"] >= LOAD_SECONDS * 0.9


def test_a_loaded_model_answers_without_the_wait(slow_double):
    first = _ask(slow_double, load_timeout=30, keep_alive="5m")
    second = _ask(slow_double, load_timeout=30, keep_alive=0)
    assert first["load_seconds"] >= LOAD_SECONDS * 0.9
    assert second["load_seconds"] < LOAD_SECONDS / 2


def test_beyond_load_timeout_it_fails_saying_still_loading(slow_double):
    started = time.monotonic()
    result = _ask(slow_double, load_timeout=2)
    took = time.monotonic() - started
    assert result["failed"] is True
    assert result["msg"].startswith("model %s on %s was still loading after 2." % (MODEL, slow_double)), result["msg"]
    assert "load_timeout 2 s" in result["msg"] and "timed out" not in result["msg"]
    assert (result["model"], result["api_url"]) == (MODEL, slow_double)
    assert 2 <= result["waited_seconds"] < LOAD_SECONDS
    assert took < LOAD_SECONDS + 1  # failed at the bound, not after the load
