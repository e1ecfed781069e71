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


def test_the_advisories_data_passed_in_judges_the_versions_the_hosts_run(tmp_path):
    data = yaml.safe_load((ROOT / "meta" / "advisories.yml").read_text(encoding="utf-8"))
    result = run(tmp_path, hosts={"web-1": s.deployed(version="0.32.15"), "web-2": s.unreachable()}, advisories=data)
    assert not result.get("failed"), result
    assert [a["ids"] for a in result["advisories"]["web-1"]] == [
        "CVE-2026-108836", "CVE-2026-85180", "CVE-2026-7020 (GHSA-x99g-8v8j-25j2)"]
    assert result["summary"]["advisories"] == 1
    assert result["findings"][0].startswith("web-2 UNREACHABLE: The host's container is stopped")
    assert result["findings"][1].startswith("web-1 known advisories: ollama 0.32.15: CVE-2026-108836 (fixed in 0.34.2)")
    assert result["unreachable_hosts"] == [{"host": "web-2", "reason": result["findings"][0].split(": ", 1)[1].split(" [")[0],
                                            "detail": s.unreachable()["unreachable_msg"]}]
    doc = json.loads((tmp_path / "fleet-report.json").read_text(encoding="utf-8"))
    assert doc["hosts"][0]["advisories"][0] == {"component": "ollama", "version": "0.32.15", "ids": "CVE-2026-108836",
                                                "fixed_in": "0.34.2"}


def test_without_the_option_the_collections_file_is_read(tmp_path):
    result = run(tmp_path, hosts={"web-1": s.deployed(version="0.32.15")})
    assert len(result["advisories"]["web-1"]) == 3 and not result.get("warnings")


def test_without_the_data_the_report_is_written_unjudged_with_a_warning(tmp_path, monkeypatch):
    # Where the module runs from a copy of its files (AnsiballZ), meta/advisories.yml is not beside them.
    monkeypatch.setattr(ollama_fleet_report._advisories, "DATA_PATH", str(tmp_path / "no" / "advisories.yml"))
    result = run(tmp_path / "out", hosts={"web-1": s.deployed(version="0.32.15")})
    assert not result.get("failed") and result["advisories"] == {}
    assert "advisories data (meta/advisories.yml) could not be read" in result["warnings"][0]
    assert (tmp_path / "out" / "fleet-report.html").exists()


def test_advisories_that_are_not_the_data_are_refused(tmp_path):
    result = run(tmp_path, advisories={"schema": 1})
    assert result.get("failed") and "advisories" in result["msg"]
    assert list(tmp_path.iterdir()) == []


def role_yaml(*parts):
    return yaml.safe_load(ROOT.joinpath(*parts).read_text(encoding="utf-8"))


def test_the_role_reports_every_container_the_collection_runs_and_knows_its_component():
    report = role_yaml("roles", "report", "defaults", "main.yml")
    names = {role_yaml("roles", role, "defaults", "main.yml")[name] for role, name in [
        ("ollama", "ollama_container_name"), ("api_guard", "api_guard_container_name"),
        ("front_door", "front_door_container_name"), ("lobechat", "lobechat_container_name"),
        ("lobechat", "lobechat_postgres_container_name"), ("lobechat", "lobechat_redis_container_name"),
        ("open_webui", "open_webui_container_name")]}
    reported = set(report["report_containers"]) | {u["container"] for u in report["report_ui"]}
    assert reported | {report["report_front_door_container"]} == names
    data = role_yaml("meta", "advisories.yml")
    assert set(report["report_advisory_components"]) == names
    assert set(report["report_advisory_components"].values()) == set(data["components"])


def test_the_role_reads_the_advisories_data_on_the_controller_beside_itself():
    tasks = role_yaml("roles", "report", "tasks", "main.yml")
    write = [t for t in tasks if "llmops.ollama.ollama_fleet_report" in t][0]
    assert write["delegate_to"] == "localhost"
    lookup = write["llmops.ollama.ollama_fleet_report"]["advisories"]
    assert "lookup('ansible.builtin.file', role_path ~ '/../../meta/advisories.yml')" in lookup
    # role_path is roles/report in a checkout and in an installed collection alike.
    assert (ROOT / "roles" / "report" / ".." / ".." / "meta" / "advisories.yml").resolve() == ROOT / "meta" / "advisories.yml"


def test_the_report_playbook_passes_the_front_doors_settings_with_its_roles_defaults():
    play = role_yaml("playbooks", "report.yml")[0]
    assert play["vars_files"] == ["vars/shared.yml"]
    front_door = role_yaml("roles", "front_door", "defaults", "main.yml")
    passed = play["vars"]
    for report_name, owner in [("report_front_door_container", "front_door_container_name"),
                               ("report_front_door_server_names", "front_door_server_names"),
                               ("report_front_door_https_port", "front_door_https_port")]:
        fallback = yaml.safe_load(passed[report_name].split("default(", 1)[1].rsplit(")", 1)[0])
        assert owner in passed[report_name] and fallback == front_door[owner], report_name
        assert role_yaml("roles", "report", "defaults", "main.yml")[report_name] == front_door[owner]
