# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""data_secrets_info: data kept on a volume whose secret file is gone stops preflight, naming the way out."""

from __future__ import annotations

from ansible_collections.llmops.ollama.plugins.modules import data_secrets_info
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module


def engine_with_volumes(tmp_path, name, volumes):
    """An engine on PATH whose `volume inspect NAME` succeeds only for the given volumes."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / name
    script.write_text('#!/bin/sh\n[ "$1 $2" = "volume inspect" ] || exit 2\ncase " %s " in *" $3 "*) echo "[{}]" ;; '
                      '*) echo "no such volume" >&2; exit 1 ;; esac\n' % " ".join(volumes))
    script.chmod(0o755)
    return str(bindir) + ":/usr/bin:/bin"


def pair(tmp_path, **changes):
    entry = {"volume": "lobechat-postgres", "data": "LobeHub's database",
             "secret_file": str(tmp_path / "secrets" / "key-vaults-secret"),
             "variable": "lobechat_key_vaults_secret", "renew_variable": "lobechat_new_key_vaults_secret",
             "renew_cost": "makes every stored provider key unreadable"}
    entry.update(changes)
    return entry


def test_data_kept_and_secret_lost_is_a_problem_naming_volume_file_and_ways_out(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", engine_with_volumes(tmp_path, "docker", ["lobechat-postgres"]))
    result = run_module(data_secrets_info, {"engine": "docker", "pairs": [pair(tmp_path)],
                                            "restore_hint": "playbooks/lobechat_restore.yml"})
    assert not result.get("failed") and result["changed"] is False
    assert result["volumes"] == ["lobechat-postgres"]
    assert result["lost"] == [str(tmp_path / "secrets" / "key-vaults-secret")]
    (problem,) = result["problems"]
    for words in ("the volume lobechat-postgres holds LobeHub's database", str(tmp_path / "secrets" / "key-vaults-secret"),
                  "lobechat_key_vaults_secret is not given", "Nothing was changed",
                  "put the file back (playbooks/lobechat_restore.yml)",
                  "set lobechat_new_key_vaults_secret: true for a new one, which makes every stored provider key unreadable"):
        assert words in problem, (words, problem)


def test_a_kept_or_given_secret_or_absent_data_is_no_problem(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", engine_with_volumes(tmp_path, "podman", ["lobechat-postgres"]))
    kept = tmp_path / "kept"
    kept.write_text("c2VjcmV0\n")
    empty = tmp_path / "empty"
    empty.write_text("  \n")
    link = tmp_path / "link"
    link.symlink_to(kept)
    result = run_module(data_secrets_info, {"engine": "podman", "pairs": [
        pair(tmp_path, secret_file=str(kept)),
        pair(tmp_path, given=True),
        pair(tmp_path, volume="open-webui-data"),
        pair(tmp_path, secret_file=str(empty), renew_variable=""),
        pair(tmp_path, secret_file=str(link), renew=True),
    ]})
    # An empty file counts as lost; a link is not a kept secret, but a new one was asked for by name.
    assert result["lost"] == [str(empty), str(link)]
    assert len(result["problems"]) == 1 and str(empty) in result["problems"][0]
    assert "for a new one" not in result["problems"][0]


def test_without_the_engine_there_is_no_data(tmp_path, monkeypatch):
    empty = tmp_path / "nobin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = run_module(data_secrets_info, {"engine": "docker", "pairs": [pair(tmp_path)]})
    assert result["volumes"] == [] and result["problems"] == [] and result["lost"] == []
