# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A person's chat, through a real browser: headless Chromium signs in to Open WebUI through the
HTTPS front door as the admin, picks the model, sends 什么是大语言模型？ and waits until the
streamed answer is complete on the page; the answer must be the Ollama double's.

The target comes from the environment; a missing variable is an error, never a skip:

    LLMOPS_BROWSER_URL            https://HOST[:PORT]/ (the front door)
    LLMOPS_BROWSER_EMAIL          the admin's e-mail
    LLMOPS_BROWSER_PASSWORD_FILE  a file holding the admin's password (or LLMOPS_BROWSER_PASSWORD)
    LLMOPS_BROWSER_MODEL          the model to pick, e.g. qwen2.5:0.5b
    LLMOPS_BROWSER_CA_FILE        the CA certificate (PEM) the front door's certificate chains to,
                                  or the word insecure (self-signed without a CA at hand)
    LLMOPS_BROWSER_SCREENSHOT     optional: where to write the PNG (default: pytest's tmp_path)
    LLMOPS_BROWSER_TIMEOUT        optional: seconds per step (default 120)

tests/browser/run.sh installs the browser and runs this; tests/browser/dev_stack.sh up prints a
target on the build machine.
"""

from __future__ import annotations

import json
import os

import pytest

import open_webui_chat

PROMPT = "什么是大语言模型？"


def _require(name):
    value = os.environ.get(name, "").strip()
    if not value:
        pytest.fail("%s is not set: the browser test needs its target (see tests/browser/test_open_webui_browser.py)"
                    % name, pytrace=False)
    return value


@pytest.fixture(scope="module")
def target():
    url = _require("LLMOPS_BROWSER_URL")
    email = _require("LLMOPS_BROWSER_EMAIL")
    if os.environ.get("LLMOPS_BROWSER_PASSWORD_FILE", "").strip():
        path = os.environ["LLMOPS_BROWSER_PASSWORD_FILE"].strip()
        try:
            with open(path, encoding="utf-8") as handle:
                password = handle.read().strip()
        except OSError as exc:
            pytest.fail("LLMOPS_BROWSER_PASSWORD_FILE=%s cannot be read: %s" % (path, exc), pytrace=False)
        if not password:
            pytest.fail("LLMOPS_BROWSER_PASSWORD_FILE=%s is empty" % path, pytrace=False)
    else:
        password = _require("LLMOPS_BROWSER_PASSWORD")
    model = _require("LLMOPS_BROWSER_MODEL")
    ca = _require("LLMOPS_BROWSER_CA_FILE")
    if ca != "insecure" and not os.path.isfile(ca):
        pytest.fail("LLMOPS_BROWSER_CA_FILE=%s is not a file (give a PEM CA certificate or the word insecure)" % ca,
                    pytrace=False)
    try:
        timeout = float(os.environ.get("LLMOPS_BROWSER_TIMEOUT") or 120)
    except ValueError:
        pytest.fail("LLMOPS_BROWSER_TIMEOUT=%s is not a number of seconds" % os.environ["LLMOPS_BROWSER_TIMEOUT"],
                    pytrace=False)
    return {"url": url, "email": email, "password": password, "model": model,
            "ca_file": None if ca == "insecure" else ca, "insecure": ca == "insecure", "timeout": timeout}


def test_chat_in_the_browser(target, tmp_path):
    screenshot = os.environ.get("LLMOPS_BROWSER_SCREENSHOT", "").strip() or str(tmp_path / "open_webui_chat.png")
    result = open_webui_chat.chat(target["url"], target["email"], target["password"], target["model"], PROMPT,
                                  screenshot, ca_file=target["ca_file"], insecure=target["insecure"],
                                  timeout=target["timeout"])
    print(json.dumps(result, ensure_ascii=False))
    # The double answers "I am <model>, a lab double of Ollama. You said: <the prompt>".
    assert result["answer"].startswith("I am "), result
    assert target["model"].split(":")[0] in result["answer"], result
    assert result["answer"].endswith("a lab double of Ollama. You said: " + PROMPT), result
    assert target["model"] in result["models"], result
    assert result["model_label"] == target["model"] or target["model"] in result["model_label"], result
    assert os.path.getsize(screenshot) > 10_000, "the screenshot %s is (nearly) empty" % screenshot
