"""Model load time: like Ollama, the double sends nothing for generate/chat (not even headers)
until the model is in memory, a wait proportional to the model's size
(OLLAMA_DOUBLE_LOAD_SECONDS_PER_GB), and keeps it loaded for keep_alive.
ollama_generate waits for that with its own bound (load_timeout)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import ollama
import pytest

from lab_processes import REPO

LOAD_SECONDS = 3.0
MODEL = "qwen2.5:0.5b"


@pytest.fixture
def slow(start_double, published):
    """A double on which MODEL takes LOAD_SECONDS to load (its size times the rate)."""
    rate = LOAD_SECONDS / (published[MODEL].size / 1e9)
    double = start_double(OLLAMA_DOUBLE_LOAD_SECONDS_PER_GB=str(rate))
    ollama.Client(host=double.url).pull(MODEL)
    return double


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_nothing_arrives_before_the_model_is_loaded(slow):
    impatient = ollama.Client(host=slow.url, timeout=httpx.Timeout(10, read=1))
    with pytest.raises(httpx.ReadTimeout):
        impatient.generate(MODEL, "hi", stream=True).__next__()
    patient = ollama.Client(host=slow.url)
    answer, took = timed(lambda: patient.generate(MODEL, "hi"))
    assert answer.response.startswith(f"I am {MODEL}")
    # The aborted request had started the load: this one waits for its rest, not a second load.
    assert took < LOAD_SECONDS + 1


def test_the_load_is_paid_once_per_keep_alive(slow):
    client = ollama.Client(host=slow.url)
    first, took_first = timed(lambda: client.chat(MODEL, [{"role": "user", "content": "hi"}], keep_alive="2s"))
    second, took_second = timed(lambda: client.generate(MODEL, "again", keep_alive="2s"))
    assert took_first >= LOAD_SECONDS * 0.9 and first.load_duration >= LOAD_SECONDS * 0.9 * 1e9
    assert took_second < LOAD_SECONDS / 3 and second.load_duration < 1e9
    assert [m.model for m in client.ps().models] == [MODEL]
    time.sleep(2.5)
    assert client.ps().models == []
    _, took_third = timed(lambda: client.generate(MODEL, "once more"))
    assert took_third >= LOAD_SECONDS * 0.9


def test_an_empty_prompt_returns_once_loaded(slow):
    answer, took = timed(lambda: ollama.Client(host=slow.url).generate(MODEL, ""))
    assert answer.done_reason == "load" and took >= LOAD_SECONDS * 0.9


def run_generate(api_url, **args):
    """The module through ansible's ad-hoc command, its JSON result."""
    collections = subprocess.run([str(REPO / "tests" / "collection_path.sh")], capture_output=True, text=True,
                                 check=True).stdout.strip()
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    module_args = json.dumps(dict(api_url=api_url, model=MODEL, prompt="Say OK.", keep_alive=0, **args))
    done = subprocess.run([str(Path(sys.executable).parent / "ansible"), "localhost", "-c", "local", "-m", "llmops.ollama.ollama_generate",
                           "-a", module_args], env=env, capture_output=True, text=True, timeout=120)
    report = json.loads(done.stdout)
    return report["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_ollama_generate_waits_for_the_load_beyond_its_read_timeout(slow):
    result = run_generate(slow.url, timeout=1, load_timeout=30)
    assert not result.get("failed"), result
    assert result["response"].startswith(f"I am {MODEL}")
    assert result["load_seconds"] >= LOAD_SECONDS * 0.9 > 1


def test_ollama_generate_beyond_load_timeout_names_model_host_and_wait(slow):
    result = run_generate(slow.url, timeout=1, load_timeout=2)
    assert result["failed"] is True
    assert result["msg"].startswith(f"model {MODEL} on {slow.url} was still loading after 2."), result["msg"]
    assert 2 <= result["waited_seconds"] < LOAD_SECONDS
