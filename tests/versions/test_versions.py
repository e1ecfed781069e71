"""make versions and the supply-chain table, both from meta/advisories.yml."""

from __future__ import annotations

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import supply_chain  # noqa: E402
import versions  # noqa: E402


def test_the_committed_supply_chain_table_is_the_generated_one():
    _, match = supply_chain.committed()
    assert match.group("body") == supply_chain.render(supply_chain.load()), (
        "run python3 tests/versions/supply_chain.py --write")


def test_make_versions_lists_every_component_and_passes_on_the_data():
    run = subprocess.run([sys.executable, os.path.join(HERE, "versions.py")], capture_output=True, text=True,
                         check=False)
    assert run.returncode == 0, run.stderr
    for component in ("ollama", "lobehub", "open_webui", "nginx", "paradedb", "redis"):
        assert "\n%s " % component in run.stdout
    assert "CVE-2026-7020" in run.stdout


def test_make_versions_fails_when_a_default_is_below_its_floor():
    data = {"components": {"ollama": {"default": "0.32.15", "floor": "0.35.1", "newest": "0.40.2", "advisories": [
        {"ids": ["CVE-2026-85180"], "introduced": "0.30.0", "fixed_in": "0.33.3"}]}}}
    [row] = versions.rows(data)
    assert row["below"] and row["open"] == "CVE-2026-85180"
    assert versions.rows({"components": {"redis": {"default": "7.4.9", "floor": "", "advisories": []}}})[0] == {
        "component": "redis", "default": "7.4.9", "floor": "-", "newest": "-", "open": "none", "below": False}
