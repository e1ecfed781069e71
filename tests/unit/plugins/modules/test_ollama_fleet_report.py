# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ollama_fleet_report writes the two files only when the report changed apart from its time."""

from __future__ import annotations

import json
import os
import pathlib

import yaml

from ansible_collections.llmops.ollama.plugins.modules import ollama_fleet_report
from ansible_collections.llmops.ollama.tests.unit.plugins import fleet_samples as s
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module

ROOT = pathlib.Path(__file__).resolve().parents[4]


def run(dest, hosts=None, check_mode=False, **args):
    args = dict({"dest": str(dest), "hosts": s.fleet() if hosts is None else hosts, "version_floor": "0.17.1"}, **args)
    return run_module(ollama_fleet_report, args, check_mode=check_mode)


def test_writes_json_and_html(tmp_path):
    result = run(tmp_path / "out")
    assert result["changed"] and not result.get("failed")
    doc = json.loads((tmp_path / "out" / "fleet-report.json").read_text(encoding="utf-8"))
    assert doc["generated_at"] == result["generated_at"]
    assert [d["host"] for d in result["drift"]] == ["f2"] and result["unreachable_hosts"][0]["host"] == "f4"
    assert (tmp_path / "out" / "fleet-report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert oct(os.stat(tmp_path / "out" / "fleet-report.json").st_mode & 0o777) == "0o644"


def test_same_fleet_state_writes_nothing_and_keeps_the_time(tmp_path, monkeypatch):
    first = run(tmp_path)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    # Another moment, a little noise in what is measured: the same report.
    hosts = s.fleet()
    hosts["f1"]["host"]["memory"]["available_bytes"] += 4096
    monkeypatch.setattr(ollama_fleet_report.datetime, "datetime", _Later)
    second = run(tmp_path, hosts=hosts)
    assert not second["changed"]
    assert second["generated_at"] == first["generated_at"]
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()} == before


def test_a_changed_fleet_rewrites_both_files_with_a_new_time(tmp_path, monkeypatch):
    run(tmp_path)
    monkeypatch.setattr(ollama_fleet_report.datetime, "datetime", _Later)
    hosts = s.fleet()
    hosts["f4"] = s.host()
    result = run(tmp_path, hosts=hosts)
    assert result["changed"] and result["generated_at"] == "2030-01-02T03:04:05Z"
    doc = json.loads((tmp_path / "fleet-report.json").read_text(encoding="utf-8"))
    assert doc["unreachable"] == [] and doc["generated_at"] == "2030-01-02T03:04:05Z"
    assert "2030-01-02T03:04:05Z" in (tmp_path / "fleet-report.html").read_text(encoding="utf-8")


def test_a_missing_html_file_is_written_again(tmp_path):
    run(tmp_path)
    (tmp_path / "fleet-report.html").unlink()
    assert run(tmp_path)["changed"]
    assert (tmp_path / "fleet-report.html").exists()


def test_check_mode_writes_nothing(tmp_path):
    result = run(tmp_path / "out", check_mode=True)
    assert result["changed"] and not (tmp_path / "out").exists()


def test_bad_options_fail_before_writing(tmp_path):
    assert "basename" in run(tmp_path, basename="../x")["msg"]
    assert "version_floor" in run(tmp_path, version_floor="latest")["msg"]
    assert list(tmp_path.iterdir()) == []


def test_the_role_floor_default_is_the_ollama_floor_of_the_advisories_data():
    def default(role, name):
        return yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text(encoding="utf-8"))[name]
    data = yaml.safe_load((ROOT / "meta" / "advisories.yml").read_text(encoding="utf-8"))
    assert default("report", "report_version_floor") == data["components"]["ollama"]["floor"]
    # Empty: the ollama role takes the same floor from the data.
    assert default("ollama", "ollama_min_version") == ""


class _Later(ollama_fleet_report.datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return ollama_fleet_report.datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=tz)
