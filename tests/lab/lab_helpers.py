"""Helpers for the lab's own checks (tests/lab); a unique module name, not conftest."""
import json
import pathlib
import shlex
import subprocess
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
LAB = ROOT / "lab"
LAB_BIN = LAB / "bin" / "lab"
REGISTRY = "http://127.0.0.1:5000"
LAB_REGISTRY = "10.213.0.2:5000"


def versions():
    out = {}
    for line in (LAB / "versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key] = " ".join(shlex.split(value))
    return out


VERSIONS = versions()
OLLAMA_TAGS = VERSIONS["OLLAMA_TAGS"].split()
OLLAMA_DEFAULT_TAG = VERSIONS["OLLAMA_DEFAULT_TAG"]
LOBECHAT_TAG = VERSIONS["LOBECHAT_TAG"]
LOBEHUB_TAG = VERSIONS["LOBEHUB_TAG"]


def get_json(url, timeout=5, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.load(resp)


def wait_until(predicate, timeout, what, interval=1.0):
    """Poll predicate() until truthy; fail the test after timeout seconds."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - report the last error on timeout
            last = exc
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what} (last error: {last})")


def docker(*args, check=True, timeout=300):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check,
                          timeout=timeout)


def registry_up():
    try:
        with urllib.request.urlopen(REGISTRY + "/v2/", timeout=3) as resp:
            return resp.status == 200
    except Exception:  # noqa: BLE001
        return False
