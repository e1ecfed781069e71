# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Make this checkout importable as ansible_collections.llmops.ollama for plain pytest runs.

Under ansible-test the collection already sits in such a tree and this changes nothing.
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

if os.path.basename(os.path.dirname(os.path.dirname(ROOT))) != "ansible_collections":
    TREE = os.path.join(ROOT, "build", "unit")
    LINK = os.path.join(TREE, "ansible_collections", "llmops", "ollama")
    if not os.path.islink(LINK):
        os.makedirs(os.path.dirname(LINK), exist_ok=True)
        os.symlink(ROOT, LINK)
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
