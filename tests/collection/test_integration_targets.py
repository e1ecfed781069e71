# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every module has an ansible-test integration target that calls it, and every target a module.

A module added without tests/integration/targets/<module>/ fails here, naming the module, before
anyone runs the (slower) integration stage.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ROOT / "tests" / "integration" / "targets"
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
# Targets that only prepare others (ansible-test's own naming convention).
SETUP_PREFIX = "setup_"


def target_text(target: Path) -> str:
    """The target's task files and runme.sh, concatenated."""
    files = sorted(target.glob("tasks/*.yml")) + sorted(target.glob("runme.sh"))
    return "\n".join(f.read_text(encoding="utf-8") for f in files)


def test_there_are_modules():
    assert MODULES, "no modules found under plugins/modules"


@pytest.mark.parametrize("module", MODULES)
def test_module_has_a_target(module):
    target = TARGETS / module
    assert target.is_dir(), (
        f"plugins/modules/{module}.py has no integration target: add tests/integration/targets/{module}/ "
        "(aliases, meta/main.yml depending on setup_ollama, tasks/main.yml); see tests/integration/README.md")
    aliases = (target / "aliases").read_text(encoding="utf-8").split() if (target / "aliases").is_file() else []
    assert aliases, f"tests/integration/targets/{module}/aliases is missing or empty"
    skipped = {"disabled", "unsupported", "hidden", "unstable"} & set(aliases)
    assert not skipped, f"tests/integration/targets/{module}/aliases keeps it from running: {sorted(skipped)}"
    text = target_text(target)
    assert f"llmops.ollama.{module}:" in text, (
        f"tests/integration/targets/{module} never calls llmops.ollama.{module} by its full name")


def test_every_target_belongs_to_a_module():
    stale = [t.name for t in TARGETS.iterdir()
             if t.is_dir() and not t.name.startswith(SETUP_PREFIX) and t.name not in MODULES]
    assert not stale, f"integration targets without a module: {stale}"
