# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The rollout's health gate (playbooks/rollout_steps/health_gate.yml, run by ansible-playbook) against the
double while its model takes longer to load than the gate's answer time-out: within
rollout_health_load_timeout the gate passes and reports the load time; beyond it, it fails naming the
model, the API's host and the time waited, and says the model was still loading."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.request

from lab_processes import REPO
from test_generate_module_load import LOAD_SECONDS, MODEL, slow_double  # noqa: F401 (a fixture)

PLAYBOOK = REPO / "tests" / "contract" / "playbooks" / "health_gate.yml"


def unload(url):
    """keep_alive 0 with no prompt: Ollama unloads the model (after loading it, if it was not loaded)."""
    request = urllib.request.Request(url + "/api/generate", data=json.dumps({"model": MODEL, "keep_alive": 0}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        reply.read()


def gate(url, load_timeout):
    unload(url)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "build" / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    argv = [str(REPO / ".venv" / "bin" / "ansible-playbook"), str(PLAYBOOK), "-e",
            '{"__llmops_api_url": "%s", "rollout_health_models": ["%s"], "rollout_health_timeout": 1, '
            '"rollout_health_load_timeout": %d, "rollout_health_prompt": "Say OK."}' % (url, MODEL, load_timeout)]
    started = time.monotonic()
    res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    return res, time.monotonic() - started


def test_the_gate_waits_for_a_slow_load_and_reports_it(slow_double):
    res, _took = gate(slow_double, load_timeout=30)
    assert res.returncode == 0, res.stdout[-3000:]
    reported = re.search(r"%s: loaded in ([0-9.]+) s, answered in ([0-9.]+) s" % re.escape(MODEL), res.stdout)
    assert reported, res.stdout[-3000:]
    assert float(reported.group(1)) >= LOAD_SECONDS * 0.9  # longer than the gate's 1-s answer time-out


def test_beyond_its_load_bound_the_gate_fails_naming_model_host_and_wait(slow_double):
    res, took = gate(slow_double, load_timeout=1)
    assert res.returncode != 0
    fatal = [line for line in res.stdout.splitlines() if "still loading" in line]
    assert fatal, res.stdout[-3000:]
    assert "model %s on %s was still loading after 1." % (MODEL, slow_double) in fatal[0]
    assert "timed out" not in fatal[0]
    assert took < 60
