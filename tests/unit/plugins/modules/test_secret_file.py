# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""secret_file: created once and read back unchanged, a given value written then kept, a link or special file at the
path refused (its target untouched), the mode fixed, check mode writing nothing, an existing parent directory kept,
and the secret in the result although `value` is no_log."""

from __future__ import annotations

import base64
import grp
import json
import os
import pwd
import stat

import pytest

from ansible_collections.llmops.ollama.plugins.modules import secret_file
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import patch_module_args, run_module

ME = {"owner": pwd.getpwuid(os.getuid()).pw_name, "group": grp.getgrgid(os.getgid()).gr_name}


def keep(path, check_mode=False, **args):
    return run_module(secret_file, dict(ME, path=str(path), **args), check_mode=check_mode)


def mode(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def test_creates_a_secret_once_then_reads_it_back(tmp_path):
    path = tmp_path / "secrets" / "access_code"
    first = keep(path)
    assert first["changed"] is True and first["created"] is True
    assert len(first["secret"]) == 32 and first["secret"].isalnum() and first["secret"].isascii()
    assert path.read_text() == first["secret"]
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["access_code"]  # no temporary file left

    again = keep(path, length=64)
    assert again["changed"] is False and again["created"] is False
    assert again["secret"] == first["secret"]


def test_secrets_differ_and_have_the_length_asked(tmp_path):
    one = keep(tmp_path / "one", length=16)["secret"]
    two = keep(tmp_path / "two", length=16)["secret"]
    assert len(one) == len(two) == 16 and one != two


def test_a_given_value_is_written_then_kept(tmp_path):
    path = tmp_path / "access_code"
    keep(path)
    given = keep(path, value="the-operators-own-code")
    assert given["changed"] is True and given["created"] is False
    assert given["secret"] == "the-operators-own-code"
    assert path.read_text() == "the-operators-own-code" and mode(path) == 0o600
    again = keep(path, value="the-operators-own-code")
    assert again["changed"] is False and again["secret"] == "the-operators-own-code"
    # without the value the stored one is kept, not rotated
    assert keep(path)["secret"] == "the-operators-own-code"


def test_an_empty_value_counts_as_not_given(tmp_path):
    path = tmp_path / "access_code"
    path.write_text("stored-secret-of-sixteen")
    os.chmod(str(path), 0o600)
    result = keep(path, value="")
    assert result["changed"] is False and result["secret"] == "stored-secret-of-sixteen"


@pytest.mark.parametrize("blank", [b"", b"\n", b"  \n"])
def test_an_empty_file_gets_a_new_secret(tmp_path, blank):
    path = tmp_path / "access_code"
    path.write_bytes(blank)
    result = keep(path)
    assert result["changed"] is True and result["created"] is False
    assert path.read_text() == result["secret"] and len(result["secret"]) == 32


@pytest.mark.parametrize("value", [None, "another-value-entirely"])
def test_a_symlink_is_refused_and_its_target_untouched(tmp_path, value):
    victim = tmp_path / "victim"
    victim.write_text("do not touch")
    os.chmod(str(victim), 0o644)
    path = tmp_path / "access_code"
    path.symlink_to(victim)
    args = {"value": value} if value else {}
    result = keep(path, **args)
    assert result["failed"] is True
    assert str(path) in result["msg"] and "symbolic link" in result["msg"]
    assert "do not touch" not in json.dumps(result)
    assert victim.read_text() == "do not touch" and mode(victim) == 0o644
    assert path.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["access_code", "victim"]


def test_a_dangling_symlink_is_refused_and_nothing_is_created(tmp_path):
    path = tmp_path / "access_code"
    path.symlink_to(tmp_path / "planted")
    result = keep(path)
    assert result["failed"] is True and "symbolic link" in result["msg"]
    assert not (tmp_path / "planted").exists()


def test_a_fifo_or_directory_is_refused(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(str(fifo))
    result = keep(fifo)
    assert result["failed"] is True and "a FIFO" in result["msg"] and str(fifo) in result["msg"]
    directory = tmp_path / "dir"
    directory.mkdir()
    result = keep(directory)
    assert result["failed"] is True and "a directory" in result["msg"]


def test_a_wrong_mode_is_fixed_and_the_content_kept(tmp_path):
    path = tmp_path / "access_code"
    path.write_text("stored-secret-of-sixteen")
    os.chmod(str(path), 0o644)
    predicted = keep(path, check_mode=True)
    assert predicted["changed"] is True and mode(path) == 0o644
    result = keep(path)
    assert result["changed"] is True and result["created"] is False
    assert result["secret"] == "stored-secret-of-sixteen"
    assert mode(path) == 0o600 and path.read_text() == "stored-secret-of-sixteen"
    assert keep(path)["changed"] is False


def test_check_mode_writes_nothing(tmp_path):
    path = tmp_path / "secrets" / "access_code"
    result = keep(path, check_mode=True)
    assert result["changed"] is True and result["created"] is True
    assert len(result["secret"]) == 32
    assert not path.parent.exists()

    keep(path)
    stored = path.read_text()
    result = keep(path, value="a-new-value-for-it", check_mode=True)
    assert result["changed"] is True and result["secret"] == "a-new-value-for-it"
    assert path.read_text() == stored
    result = keep(path, check_mode=True)
    assert result["changed"] is False and result["secret"] == stored


def test_an_existing_parent_directory_keeps_its_mode(tmp_path):
    parent = tmp_path / "shared"
    parent.mkdir()
    os.chmod(str(parent), 0o751)
    keep(parent / "access_code")
    assert mode(parent) == 0o751


def test_missing_directories_are_all_created_private(tmp_path):
    path = tmp_path / "a" / "b" / "access_code"
    keep(path)
    assert mode(tmp_path / "a") == 0o700 and mode(tmp_path / "a" / "b") == 0o700


def test_invalid_input_fails_without_the_secret(tmp_path):
    result = keep(tmp_path / "x", length=8)
    assert result["failed"] is True and "length" in result["msg"]
    result = keep(tmp_path / "x", length=5000)
    assert result["failed"] is True and "length" in result["msg"] and not (tmp_path / "x").exists()
    result = keep(tmp_path / "x", owner="no-such-user-here")
    assert result["failed"] is True and "no-such-user-here" in result["msg"]
    path = tmp_path / "binary"
    path.write_bytes(b"\xff\xfe-not-text-secret")
    result = keep(path)
    assert result["failed"] is True and str(path) in result["msg"] and "not-text-secret" not in result["msg"]


def test_the_result_carries_a_given_value_and_masks_the_invocation(tmp_path, capsys):
    """Through AnsibleModule's real exit_json, which masks no_log values everywhere in the result."""
    path = tmp_path / "access_code"
    args = dict(ME, path=str(path), value="the-operators-own-code")
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        secret_file.main()
    assert exited.value.code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["secret"] == "the-operators-own-code"
    # Nowhere else in the result: ansible-core up to 2.20 returns the invocation (masked), later ones do not.
    assert "the-operators-own-code" not in json.dumps({k: v for k, v in result.items() if k != "secret"})
    if "invocation" in result:
        assert result["invocation"]["module_args"]["value"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def test_base64_format_is_the_text_of_length_random_bytes_and_kept(tmp_path):
    import base64
    path = tmp_path / "key-vaults-secret"
    first = keep(path, format="base64", length=32)
    assert first["changed"] is True and first["created"] is True
    assert len(base64.b64decode(first["secret"], validate=True)) == 32
    assert len(first["secret"]) == 44 and path.read_text() == first["secret"] and mode(path) == 0o600
    again = keep(path, format="base64", length=32)
    assert again["changed"] is False and again["secret"] == first["secret"]
    assert keep(tmp_path / "other", format="base64", length=32)["secret"] != first["secret"]


def _uint(text):
    import base64
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


@pytest.mark.skipif(not any(os.access(os.path.join(d, "openssl"), os.X_OK)
                            for d in os.environ.get("PATH", "").split(os.pathsep)), reason="no openssl command")
def test_rsa_jwks_format_is_a_private_rsa_jwk_set_made_once(tmp_path):
    path = tmp_path / "jwks-key"
    first = keep(path, format="rsa_jwks")
    assert first["changed"] is True and first["created"] is True and mode(path) == 0o600
    keys = json.loads(first["secret"])["keys"]
    assert len(keys) == 1
    key = keys[0]
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig") and len(key["kid"]) == 16
    n, e, d, p, q = (_uint(key[k]) for k in ("n", "e", "d", "p", "q"))
    assert n.bit_length() == 2048 and n == p * q and e == 65537
    assert pow(pow(12345, e, n), d, n) == 12345
    assert _uint(key["dp"]) == d % (p - 1) and _uint(key["dq"]) == d % (q - 1) and _uint(key["qi"]) * q % p == 1
    again = keep(path, format="rsa_jwks")
    assert again["changed"] is False and again["secret"] == first["secret"]
    assert json.loads(keep(tmp_path / "other", format="rsa_jwks")["secret"])["keys"][0]["n"] != key["n"]


def test_rsa_parts_reads_openssl_text():
    text = ("Private-Key: (2048 bit, 2 primes)\nmodulus:\n    00:c4:01\n    ff\npublicExponent: 65537 (0x10001)\n"
            "privateExponent:\n    05\nprime1:\n    07\nprime2:\n    0b\nexponent1:\n    01\nexponent2:\n    02\n"
            "coefficient:\n    03\n")
    parts = secret_file.rsa_parts(text)
    assert parts["modulus"] == 0xc401ff and parts["publicExponent"] == 65537 and parts["coefficient"] == 3
    with pytest.raises(secret_file.HostFileError):
        secret_file.jwks_from_parts({"modulus": 5})


def test_rsa_jwks_in_check_mode_makes_no_key_and_stores_nothing(tmp_path):
    path = tmp_path / "jwks-key"
    result = keep(path, check_mode=True, format="rsa_jwks")
    assert result["changed"] is True and result["created"] is True
    assert json.loads(result["secret"]) == {"keys": []}
    assert not path.exists()


def keep_all(secrets, check_mode=False, **args):
    return run_module(secret_file, dict(ME, secrets=secrets, **args), check_mode=check_mode)


def test_several_secrets_in_one_call_are_created_once_then_read_back(tmp_path):
    specs = [{"name": "auth", "path": str(tmp_path / "lobe" / "auth"), "length": 48},
             {"name": "vault", "path": str(tmp_path / "lobe" / "vault"), "format": "base64", "length": 32},
             {"name": "db", "path": str(tmp_path / "lobe" / "db")}]
    first = keep_all(specs)
    assert first["changed"] is True
    assert sorted(first["secrets"]) == ["auth", "db", "vault"]
    for spec in specs:
        one = first["secrets"][spec["name"]]
        assert one["changed"] is True and one["created"] is True and one["path"] == spec["path"]
        assert (tmp_path / "lobe" / spec["name"]).read_text() == one["secret"]
        assert mode(tmp_path / "lobe" / spec["name"]) == 0o600
    assert len(first["secrets"]["auth"]["secret"]) == 48
    assert len(base64.b64decode(first["secrets"]["vault"]["secret"])) == 32

    again = keep_all(specs)
    assert again["changed"] is False
    assert all(again["secrets"][n]["changed"] is False and again["secrets"][n]["created"] is False
               and again["secrets"][n]["secret"] == first["secrets"][n]["secret"] for n in ("auth", "vault", "db"))


def test_several_secrets_each_changed_on_its_own_and_a_given_value_returned(tmp_path):
    specs = [{"name": "a", "path": str(tmp_path / "a")}, {"name": "b", "path": str(tmp_path / "b")}]
    keep_all(specs)
    os.chmod(str(tmp_path / "a"), 0o644)
    specs[1]["value"] = "the-operators-own-password"
    result = keep_all(specs)
    assert result["changed"] is True
    assert result["secrets"]["a"]["changed"] is True and result["secrets"]["a"]["created"] is False
    assert mode(tmp_path / "a") == 0o600
    assert result["secrets"]["b"] == {"changed": True, "created": False, "path": str(tmp_path / "b"),
                                      "secret": "the-operators-own-password"}
    assert "the-operators-own-password" not in json.dumps(result["invocation"])


def test_several_secrets_in_check_mode_write_nothing(tmp_path):
    result = keep_all([{"name": "a", "path": str(tmp_path / "d" / "a")},
                       {"name": "k", "path": str(tmp_path / "d" / "k"), "format": "rsa_jwks", "length": 2048}],
                      check_mode=True)
    assert result["changed"] is True and result["secrets"]["a"]["created"] is True
    assert json.loads(result["secrets"]["k"]["secret"]) == {"keys": []}
    assert not (tmp_path / "d").exists()


def test_several_secrets_refuse_a_name_twice_a_short_length_and_path_beside_them(tmp_path):
    twice = keep_all([{"name": "a", "path": str(tmp_path / "a")}, {"name": "a", "path": str(tmp_path / "b")}])
    assert twice["failed"] and "the name a is given more than once" in twice["msg"]
    short = keep_all([{"name": "a", "path": str(tmp_path / "a"), "length": 8}])
    assert short["failed"] and "too short" in short["msg"] and short["path"] == str(tmp_path / "a")
    both = run_module(secret_file, dict(ME, path=str(tmp_path / "c"), secrets=[{"name": "a", "path": str(tmp_path / "a")}]))
    assert both["failed"] and "mutually exclusive" in both["msg"]
    assert not list(tmp_path.iterdir())


def test_several_secrets_stop_at_a_link_naming_its_path(tmp_path):
    os.symlink(str(tmp_path / "elsewhere"), str(tmp_path / "b"))
    result = keep_all([{"name": "a", "path": str(tmp_path / "a")}, {"name": "b", "path": str(tmp_path / "b")}])
    assert result["failed"] and result["path"] == str(tmp_path / "b") and str(tmp_path / "b") in result["msg"]
    assert result["changed"] is True and (tmp_path / "a").exists() and not (tmp_path / "elsewhere").exists()
