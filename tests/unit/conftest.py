# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Make this checkout importable as ansible_collections.llmops.ollama for plain pytest runs.

Under ansible-test the collection already sits in such a tree and this changes nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

if os.path.basename(os.path.dirname(os.path.dirname(ROOT))) != "ansible_collections":
    # The one way a checkout becomes importable, shared with lint, molecule and the lab.
    TREE = subprocess.run([os.path.join(ROOT, "tests", "collection_path.sh")], check=True,
                          capture_output=True, text=True).stdout.strip()
    sys.path.insert(0, TREE)

import pytest  # noqa: E402  (after the path set-up above)


@pytest.fixture
def fake():
    """A started Ollama look-alike; see tests/unit/plugins/fake_ollama.py."""
    from ansible_collections.llmops.ollama.tests.unit.plugins.fake_ollama import FakeOllama
    with FakeOllama() as server:
        yield server


@pytest.fixture
def registry():
    """A started OCI registry look-alike; see tests/unit/plugins/fake_registry.py."""
    from ansible_collections.llmops.ollama.tests.unit.plugins.fake_registry import FakeRegistry
    with FakeRegistry() as server:
        yield server


@pytest.fixture
def storage():
    """Signed object storage that refuses Authorization, as S3 does; see FakeStorage."""
    from ansible_collections.llmops.ollama.tests.unit.plugins.fake_registry import FakeStorage
    with FakeStorage() as server:
        yield server


@pytest.fixture
def token_service():
    """A Bearer token service on another host than the registry; see FakeTokenService."""
    from ansible_collections.llmops.ollama.tests.unit.plugins.fake_registry import FakeTokenService
    with FakeTokenService() as server:
        yield server


@pytest.fixture
def mirrored(registry):
    """qwen2.5:0.5b (library/qwen2.5, a small sample model) on the fake registry: (manifest bytes, blobs)."""
    from ansible_collections.llmops.ollama.tests.unit.plugins.fake_registry import sample_model
    raw, blobs = sample_model()
    registry.add_model("library/qwen2.5", "0.5b", raw, blobs)
    return raw, blobs
