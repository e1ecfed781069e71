# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""tls_certificate with the host's openssl: a self-signed pair generated once and kept (never rotated), the names
checked, the user's pair checked (expired, key of another certificate, not PEM, encrypted key) and stored 0600, check
mode writing nothing, a link at a path refused, and the key never in a result or message."""

from __future__ import annotations

import datetime
import grp
import os
import pwd
import shutil
import stat

import pytest

from ansible_collections.llmops.ollama.plugins.modules import tls_certificate
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")

ME = {"owner": pwd.getpwuid(os.getuid()).pw_name, "group": grp.getgrgid(os.getgid()).gr_name}


def pair(days_from=-1, days_to=365, name="chat.example.org"):
    """A self-signed (certificate PEM, key PEM) made with the cryptography library, valid over the given days."""
    crypto = pytest.importorskip("cryptography")
    del crypto
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + datetime.timedelta(days=days_from))
            .not_valid_after(now + datetime.timedelta(days=days_to))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def run(tmp_path, check_mode=False, **args):
    base = {"certificate_path": str(tmp_path / "tls" / "cert.pem"), "private_key_path": str(tmp_path / "tls" / "key.pem"),
            "add_host_names": False}
    base.update(ME)
    base.update(args)
    return run_module(tls_certificate, base, check_mode=check_mode)


def mode(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


@pytest.mark.parametrize("name, kind", [
    ("chat.example.org", "DNS"), ("*.example.org", "DNS"), ("localhost", "DNS"), ("host-1", "DNS"),
    ("10.0.0.5", "IP"), ("fd00::5", "IP"), ("example.org.", "DNS"),
    ("bad_name", None), ("-lead.example", None), ("a..b", None), ("", None), ("x" * 64 + ".org", None),
    ("10.0.0.256", None), ("chat example", None), ("ex*mple.org", None), (" padded.org", None),
])
def test_name_kinds(name, kind):
    assert tls_certificate.name_kind(name) == kind


def test_generates_once_then_keeps_the_pair(tmp_path):
    first = run(tmp_path, names=["chat.example.org", "10.0.0.5"], host_names=["under_score", "llm-1"])
    assert first["changed"] and first["generated"] and first["source"] == "self_signed"
    assert first["reason"] == "no certificate is stored yet"
    assert first["subject_alt_names"] == ["DNS:chat.example.org", "IP:10.0.0.5", "DNS:llm-1"]
    cert, key = tmp_path / "tls" / "cert.pem", tmp_path / "tls" / "key.pem"
    assert mode(key) == 0o600 and mode(cert) == 0o644 and mode(cert.parent) == 0o700
    assert "PRIVATE KEY" in key.read_text() and "PRIVATE KEY" not in str(first)
    expires = datetime.datetime.strptime(first["not_after"], "%Y-%m-%dT%H:%M:%SZ")
    assert expires.year >= datetime.datetime.now().year + 9
    before = (cert.read_bytes(), key.read_bytes())

    again = run(tmp_path, names=["chat.example.org", "new.example.org"])
    assert not again["changed"] and not again["generated"]
    assert again["fingerprint_sha256"] == first["fingerprint_sha256"]
    assert again["names_missing"] == ["new.example.org"]
    assert (cert.read_bytes(), key.read_bytes()) == before

    os.chmod(str(key), 0o644)
    fixed = run(tmp_path, names=["chat.example.org"])
    assert fixed["changed"] and not fixed["generated"] and mode(key) == 0o600
    assert (cert.read_bytes(), key.read_bytes()) == before


def test_a_kept_certificate_that_lacks_the_hosts_new_address_is_kept_with_a_warning(tmp_path):
    first = run(tmp_path, names=["chat.example.org"], host_names=["llm-1", "10.0.0.5"])
    assert first["host_names_missing"] == [] and "warnings" not in first
    same = run(tmp_path, check_mode=True, names=["chat.example.org"], host_names=["llm-1", "10.0.0.5"])
    assert not same["changed"] and same["host_names_missing"] == [] and "warnings" not in same

    # The lease changed: the certificate still names 10.0.0.5, the host is now 10.0.0.7.
    for check_mode in (True, False):
        moved = run(tmp_path, check_mode=check_mode, names=["chat.example.org"], host_names=["llm-1", "10.0.0.7"])
        assert not moved["changed"] and not moved["generated"]
        assert moved["fingerprint_sha256"] == first["fingerprint_sha256"]
        assert moved["names_missing"] == [] and moved["host_names_missing"] == ["10.0.0.7"]
        [warning] = moved["warnings"]
        assert str(tmp_path / "tls" / "cert.pem") in warning
        assert "does not name 10.0.0.7 (this host's names and addresses)" in warning and "remove it" in warning


def test_an_ipv6_name_is_found_in_the_kept_certificate(tmp_path):
    # openssl prints it as IP:FD00:0:0:0:0:0:0:5; it is still the name asked for.
    first = run(tmp_path, names=["fd00::5"], host_names=["2001:DB8::7"])
    assert first["subject_alt_names"] == ["IP:fd00::5", "IP:2001:db8::7"]
    again = run(tmp_path, names=["fd00::5"], host_names=["2001:db8::7"])
    assert not again["changed"] and again["names_missing"] == [] and again["host_names_missing"] == []
    assert "warnings" not in again


def test_the_warning_names_both_kinds_of_missing_name(tmp_path):
    run(tmp_path, names=["chat.example.org"], host_names=["llm-1"])
    res = run(tmp_path, names=["chat.example.org", "new.example.org"], host_names=["llm-2", "new.example.org"])
    assert res["names_missing"] == ["new.example.org"] and res["host_names_missing"] == ["llm-2"]
    [warning] = res["warnings"]
    assert "new.example.org (names) and llm-2 (this host's names and addresses)" in warning


def test_only_lasting_addresses_of_the_hosts_own_interfaces_are_named():
    output = "\n".join([
        "2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global dynamic eth0\\       valid_lft 86000sec",
        "2: eth0    inet6 2001:db8::5/64 scope global dynamic mngtmpaddr \\       valid_lft 86000sec",
        "2: eth0    inet6 2001:db8::9c3e:1/64 scope global temporary dynamic \\       valid_lft 86000sec",
        "2: eth0    inet6 2001:db8::77/64 scope global deprecated dynamic \\       valid_lft 86000sec",
        "3: docker0    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0\\       valid_lft forever",
        "4: veth12ab@if3    inet6 2001:db8:1::1/64 scope global \\       valid_lft forever",
        "5: lan0    inet 192.168.1.2/24 scope global lan0\\       valid_lft forever",
        "6: br0    inet 192.168.50.1/24 scope global br0\\       valid_lft forever",
    ])
    found = tls_certificate.lasting_addresses(output, is_bridge=lambda ifname: ifname == "br0")
    assert found == ["10.0.0.5", "2001:db8::5", "192.168.1.2"]


def test_check_mode_writes_nothing(tmp_path):
    res = run(tmp_path, check_mode=True, names=["chat.example.org"])
    assert res["changed"] and res["generated"] and res["subject_alt_names"] == ["DNS:chat.example.org"]
    assert not (tmp_path / "tls").exists()


def test_an_invalid_name_is_refused_before_anything(tmp_path):
    res = run(tmp_path, names=["ok.example.org", "bad_name", "a..b"])
    assert res["failed"] and res["option"] == "names"
    assert "'bad_name', 'a..b' are neither a DNS name" in res["msg"]
    assert not (tmp_path / "tls").exists()


def test_the_users_pair_is_stored_and_kept(tmp_path):
    cert_pem, key_pem = pair()
    res = run(tmp_path, certificate=cert_pem, private_key=key_pem)
    assert res["changed"] and res["source"] == "provided" and not res["generated"]
    assert res["subject_alt_names"] == ["DNS:chat.example.org"]
    assert (tmp_path / "tls" / "key.pem").read_text().strip() == key_pem.strip()
    assert mode(tmp_path / "tls" / "key.pem") == 0o600
    assert key_pem.strip() not in str(res)
    assert not run(tmp_path, certificate=cert_pem, private_key=key_pem)["changed"]
    assert not run(tmp_path, check_mode=True, certificate=cert_pem, private_key=key_pem)["changed"]


def test_a_provided_pair_is_replaced_by_a_self_signed_one_when_it_is_taken_away(tmp_path):
    cert_pem, key_pem = pair()
    run(tmp_path, certificate=cert_pem, private_key=key_pem)
    res = run(tmp_path, names=["chat.example.org"])
    assert res["generated"] and "not generated by this module" in res["reason"]


def test_an_expired_certificate_is_refused(tmp_path):
    cert_pem, key_pem = pair(days_from=-30, days_to=-1)
    res = run(tmp_path, certificate=cert_pem, private_key=key_pem)
    assert res["failed"] and res["option"] == "certificate"
    assert "expired on" in res["msg"] and "CN=chat.example.org" in res["msg"]
    assert not (tmp_path / "tls").exists()


def test_a_certificate_not_yet_valid_is_refused(tmp_path):
    cert_pem, key_pem = pair(days_from=3, days_to=30)
    res = run(tmp_path, certificate=cert_pem, private_key=key_pem)
    assert res["failed"] and res["option"] == "certificate" and "not valid before" in res["msg"]


def test_the_key_of_another_certificate_is_refused(tmp_path):
    cert_pem, dummy = pair()
    dummy, other_key = pair()
    res = run(tmp_path, certificate=cert_pem, private_key=other_key)
    assert res["failed"] and res["option"] == "private_key"
    assert "does not match the certificate" in res["msg"]
    assert other_key.strip() not in str(res)
    assert not (tmp_path / "tls").exists()


@pytest.mark.parametrize("which, text, option, words", [
    ("certificate", "not a certificate", "certificate", "holds no PEM certificate"),
    ("certificate", "-----BEGIN CERTIFICATE-----\nbm9wZQ==\n-----END CERTIFICATE-----\n", "certificate",
     "cannot read the certificate"),
    ("private_key", "not a key", "private_key", "holds no PEM private key"),
    ("private_key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nbm9wZQ==\n-----END ENCRYPTED PRIVATE KEY-----\n",
     "private_key", "encrypted with a passphrase"),
    ("private_key", "-----BEGIN PRIVATE KEY-----\nbm9wZQ==\n-----END PRIVATE KEY-----\n", "private_key",
     "cannot read the private key"),
])
def test_unreadable_pem_is_refused(tmp_path, which, text, option, words):
    cert_pem, key_pem = pair()
    args = {"certificate": cert_pem, "private_key": key_pem}
    args[which] = text
    res = run(tmp_path, **args)
    assert res["failed"] and res["option"] == option and words in res["msg"], res


def test_a_stored_pair_that_expired_is_replaced(tmp_path):
    cert_pem, key_pem = pair(days_from=-30, days_to=-1)
    (tmp_path / "tls").mkdir(mode=0o700)
    (tmp_path / "tls" / "cert.pem").write_text(cert_pem)
    (tmp_path / "tls" / "key.pem").write_text(key_pem)
    res = run(tmp_path, names=["chat.example.org"])
    assert res["generated"] and res["reason"].startswith("the stored certificate expired on")


def test_a_link_at_the_key_path_is_refused(tmp_path):
    (tmp_path / "tls").mkdir()
    target = tmp_path / "elsewhere"
    target.write_text("untouched")
    os.symlink(str(target), str(tmp_path / "tls" / "key.pem"))
    res = run(tmp_path, names=["chat.example.org"])
    assert res["failed"] and "symbolic link" in res["msg"]
    assert target.read_text() == "untouched"


def test_days_out_of_range(tmp_path):
    res = run(tmp_path, names=["a.example"], days=0)
    assert res["failed"] and res["option"] == "days"


def test_no_openssl_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(tls_certificate.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: None)
    res = run(tmp_path, names=["a.example"])
    assert res["failed"] and "openssl command is not installed" in res["msg"]
