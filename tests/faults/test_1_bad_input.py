"""Item 8: bad input at the play level. Each row of the table is one `ansible-playbook site.yml`
run against the converged fault host AND the bare probe host; each must fail in validation,
with the variable named in the message, and change nothing on either host (recap changed=0,
container ids unchanged, no engine installed on the bare host). Two runs go at a time."""
import concurrent.futures
import datetime
import tempfile
import time

import pytest

import faultlab as fl


def _tls_files():
    """Certificates and keys on the controller for the front door's rows: a good pair, a key of another
    certificate, an expired pair (made with the cryptography library of the virtual environment)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    where = tempfile.mkdtemp(prefix="tls-", dir=fl.scratch())
    now = datetime.datetime.now(datetime.timezone.utc)
    paths = {"dir": where}
    for name, start, end in (("good", -1, 365), ("other", -1, 365), ("expired", -30, -1)):
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "%s.faults.example" % name)])
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now + datetime.timedelta(days=start))
                .not_valid_after(now + datetime.timedelta(days=end)).sign(key, hashes.SHA256()))
        for kind, data in (("crt", cert.public_bytes(serialization.Encoding.PEM)),
                           ("key", key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))):
            paths["%s_%s" % (name, kind)] = "%s/%s.%s" % (where, name, kind)
            with open(paths["%s_%s" % (name, kind)], "wb") as fh:
                fh.write(data)
    return paths


TLS = _tls_files()

# (case id, extra variables, the variable the message must name)
BAD_INPUTS = [
    ("models-string", {"ollama_models_list": "llama3"}, "ollama_models_list"),
    ("models-path-traversal", {"ollama_models_list": [{"name": "../etc/passwd"}]}, "ollama_models_list"),
    ("models-upper-space", {"ollama_models_list": [{"name": "UPPER CASE"}]}, "ollama_models_list"),
    ("models-81-char-tag", {"ollama_models_list": [{"name": "qwen:" + "a" * 81}]}, "ollama_models_list"),
    ("models-empty-name", {"ollama_models_list": [{"name": ""}]}, "ollama_models_list"),
    ("models-no-name", {"ollama_models_list": [{"state": "present"}]}, "ollama_models_list"),
    ("models-bad-state", {"ollama_models_list": [{"name": "qwen2.5:0.5b", "state": "installed"}]},
     "ollama_models_list"),
    ("models-bad-digest", {"ollama_models_list": [{"name": "qwen2.5:0.5b", "digest": "sha256:xyz"}]},
     "ollama_models_list"),
    ("models-listed-twice", {"ollama_models_list": [{"name": "qwen2.5:0.5b"}, {"name": "Qwen2.5:0.5b"}]},
     "ollama_models_list"),
    ("engine-unknown", {"container_runtime_engine": "containerd"}, "container_runtime_engine"),
    ("origins-star", {"ollama_origins": ["*"]}, "ollama_origins"),
    ("origins-scheme-star", {"ollama_origins": ["https://*"]}, "ollama_origins"),
    ("origins-star-via-env", {"ollama_extra_env": {"OLLAMA_DOUBLE_UPSTREAM": "http://10.213.0.2:5000",
                                                   "OLLAMA_ORIGINS": "*"}}, "ollama_origins"),
    ("image-below-min", {"ollama_image_tag": "0.17.0"}, "ollama_image_tag"),
    ("image-latest", {"ollama_image_tag": "latest"}, "ollama_image_tag"),
    # Supply chain (issue 11): the floor is judged on the tag when a digest pins the image too; a digest without the
    # tag it belongs to cannot be judged; a malformed digest or a digest in a tag variable is refused in every role.
    ("image-below-floor-pinned", {"ollama_image_tag": "0.20.3", "ollama_image_digest": "sha256:" + "5e" * 32},
     "ollama_image_tag"),
    ("image-digest-without-tag", {"ollama_image_tag": "", "ollama_image_digest": "sha256:" + "5e" * 32},
     "ollama_image_tag"),
    ("image-digest-malformed", {"ollama_image_digest": "sha256:5e5e"}, "ollama_image_digest"),
    ("image-digest-in-tag", {"front_door_image_tag": "1.30.3@sha256:" + "5e" * 32}, "front_door_image_tag"),
    ("image-repository-with-tag", {"lobechat_image_repository": "docker.io/lobehub/lobehub:2.2.19"},
     "lobechat_image_repository"),
    ("models-registry-not-allowed", {"ollama_models_allowed_registries": ["registry.ollama.ai"],
                                     "ollama_models_list": [{"name": "205.237.106.117:8443/attacker/leak_model_0"}]},
     "ollama_models_allowed_registries"),
    ("ollama-port-high", {"ollama_port": 70000}, "ollama_port"),
    ("ollama-port-zero", {"ollama_port": 0}, "ollama_port"),
    ("ollama-port-type", {"ollama_port": "http"}, "ollama_port"),
    ("lobechat-wait-timeout-zero", {"lobechat_wait_timeout": 0}, "lobechat_wait_timeout"),
    # Issue 30: the Ollama tmpfs (read-only root) and the front door's connection and request limits.
    ("ollama-tmpfs-size", {"ollama_tmpfs_size": "lots"}, "ollama_tmpfs_size"),
    ("front-door-conn-zero", {"front_door_limit_conn_per_address": 0}, "front_door_limit_conn_per_address"),
    ("front-door-req-rate", {"front_door_limit_req_rate": "fast"}, "front_door_limit_req_rate"),
    ("publish-public", {"ollama_publish_address": "0.0.0.0"}, "ollama_publish_address"),
    ("publish-not-ip", {"ollama_publish_address": "localhost; rm -rf /"}, "ollama_publish_address"),
    ("memory-lots", {"ollama_memory": "lots"}, "ollama_memory"),
    ("data-dir-relative", {"ollama_data_dir": "var/lib/ollama"}, "ollama_data_dir"),
    ("data-dir-root", {"ollama_data_dir": "/"}, "ollama_data_dir"),
    ("data-dir-var-lib", {"ollama_data_dir": "/var/lib/"}, "ollama_data_dir"),
    ("data-dir-dotdot", {"ollama_data_dir": "/srv/llm/../../etc"}, "ollama_data_dir"),
    # LobeChat 1.x's access code (issue 16): its variables are refused with the 2.x settings that replace them.
    ("access-code-file-1x", {"lobechat_access_code_file": "/etc/llmops/lobechat-access-code"}, "lobechat_access_code_file"),
    ("lobechat-secret-dir-etc", {"lobechat_secret_dir": "/etc"}, "lobechat_secret_dir"),
    ("lobechat-backup-dir-var", {"lobechat_backup_dir": "/var"}, "lobechat_backup_dir"),
    ("gpu-vendor-unknown", {"ollama_gpu_vendor": "intel"}, "ollama_gpu_vendor"),
    ("remove-unlisted-type", {"ollama_models_remove_unlisted": "maybe"}, "ollama_models_remove_unlisted"),
    ("access-code-1x", {"lobechat_access_code": "sneaky-code-123"}, "lobechat_access_code"),
    ("access-code-in-env", {"lobechat_extra_env": {"ACCESS_CODE": "sneaky-code-123"}}, "lobechat_extra_env"),
    ("service-mode-in-env", {"lobechat_extra_env": {"NEXT_PUBLIC_SERVICE_MODE": "server"}}, "lobechat_extra_env"),
    ("nextauth-in-env", {"lobechat_extra_env": {"NEXTAUTH_SECRET": "sneaky-nextauth-123"}}, "lobechat_extra_env"),
    ("lobechat-env-overrides-role", {"lobechat_extra_env": {"AUTH_ALLOWED_EMAILS": ""}}, "lobechat_extra_env"),
    # LobeChat 1.x and LobeHub before 2.1.57 (issue 16): refused naming their advisories.
    ("lobechat-1x-image", {"lobechat_image_tag": "1.143.2"}, "lobechat_image_tag"),
    ("lobechat-2x-below-fix", {"lobechat_image_tag": "2.1.56"}, "lobechat_image_tag"),
    # Each image below its floor of meta/advisories.yml (issue 26), refused naming the advisories of that release.
    ("ollama-below-floor-0.32.15", {"ollama_image_tag": "0.32.15"}, "ollama_image_tag"),
    ("ollama-below-floor-0.35.0", {"ollama_image_tag": "0.35.0"}, "ollama_image_tag"),
    ("lobehub-below-floor-2.2.19", {"lobechat_image_tag": "2.2.19"}, "lobechat_image_tag"),
    ("open-webui-below-floor", {"llmops_ui": "open_webui", "open_webui_image_tag": "v0.11.3"}, "open_webui_image_tag"),
    ("front-door-below-floor", {"front_door_image_tag": "1.30.3"}, "front_door_image_tag"),
    ("api-guard-below-floor", {"api_guard_image_tag": "1.30.7"}, "api_guard_image_tag"),
    ("lobechat-admin-email-missing", {"lobechat_admin_email": ""}, "lobechat_admin_email"),
    ("lobechat-admin-password-short", {"lobechat_admin_password": "short-pw"}, "lobechat_admin_password"),
    ("lobechat-key-vaults-not-32-bytes", {"lobechat_key_vaults_secret": "not-base64-of-32-bytes"},
     "lobechat_key_vaults_secret"),
    ("lobechat-allowed-emails-bad", {"lobechat_allowed_emails": ["everyone"]}, "lobechat_allowed_emails"),
    ("lobechat-domain-unverified", {"lobechat_allowed_emails": ["lab.example"]}, "lobechat_allowed_emails"),
    ("lobechat-s3-without-keys", {"lobechat_s3_endpoint": "https://s3.example.org"}, "lobechat_s3_endpoint"),
    ("lobechat-postgres-image-with-tag", {"lobechat_postgres_image_repository": "docker.io/paradedb/paradedb:latest-pg17"},
     "lobechat_postgres_image_repository"),
    ("engine-docker-ce-no-url", {"container_runtime_docker_source": "docker_ce"}, "container_runtime_docker_ce_repo_url"),
    # Debian 12's Podman 4.3 cannot name a network's bridge (found by the neighbour test on the other engines).
    ("podman-on-debian-12", {"container_runtime_engine": "podman"}, "container_runtime_engine"),
    ("mirror-http-without-opt-in", {"ollama_models_mirror_url": "http://10.213.0.3:5000"}, "ollama_models_mirror_url"),
    ("mirror-credentials-in-url", {"ollama_models_mirror_url": "https://fleet:mirror-secret-9@10.213.0.3:5000"},
     "ollama_models_mirror_url"),
    ("ui-unknown", {"llmops_ui": "gradio"}, "llmops_ui"),
    ("tls-cert-missing", {"front_door_tls_certificate_file": TLS["dir"] + "/missing.crt",
                          "front_door_tls_key_file": TLS["good_key"]}, "front_door_tls_certificate_file"),
    ("tls-key-unreadable", {"front_door_tls_certificate_file": TLS["good_crt"],
                            "front_door_tls_key_file": TLS["dir"]}, "front_door_tls_key_file"),
    ("tls-key-mismatch", {"front_door_tls_certificate_file": TLS["good_crt"],
                          "front_door_tls_key_file": TLS["other_key"]}, "front_door_tls_key_file"),
    ("tls-cert-expired", {"front_door_tls_certificate_file": TLS["expired_crt"],
                          "front_door_tls_key_file": TLS["expired_key"]}, "front_door_tls_certificate_file"),
    ("tls-cert-without-key", {"front_door_tls_certificate_file": TLS["good_crt"]}, "front_door_tls_key_file"),
    ("server-name-invalid", {"front_door_server_names": ["chat.example.org", "bad_name.example"]},
     "front_door_server_names"),
    ("front-door-port-high", {"front_door_https_port": 70000}, "front_door_https_port"),
    ("front-door-bind-not-ip", {"front_door_bind_address": "all"}, "front_door_bind_address"),
    ("open-webui-password-short", {"llmops_ui": "open_webui", "open_webui_admin_email": "admin@lab.example",
                                   "open_webui_admin_password": "short-pw"}, "open_webui_admin_password"),
    ("open-webui-email-missing", {"llmops_ui": "open_webui"}, "open_webui_admin_email"),
    ("open-webui-secret-dir-etc", {"llmops_ui": "open_webui", "open_webui_admin_email": "admin@lab.example",
                                   "open_webui_secret_dir": "/etc"}, "open_webui_secret_dir"),
]

TARGETS = "%s,%s" % (fl.HOST, fl.PROBE)


def _run(case):
    case_id, extra, _ = case
    vars_ = dict(extra)
    vars_["llmops_target_hosts"] = TARGETS
    return case_id, fl.run_play(vars_, limit=TARGETS, timeout=240)


def _selected(session):
    """The rows the session runs (-k may pick a few); every row when the session runs none of them one by one."""
    picked = {item.callspec.params["case"][0] for item in session.items
              if getattr(item, "callspec", None) is not None and "case" in item.callspec.params
              and item.originalname == "test_bad_input_fails_in_validation"}
    whole = any(item.originalname in ("test_bad_input_summary", "test_mirror_credentials_are_refused_without_showing_them")
                for item in session.items)
    return [case for case in BAD_INPUTS if whole or case[0] in picked] or BAD_INPUTS


@pytest.fixture(scope="module")
def bad_runs(lab, request):
    before = {name: fl.container_id(fl.HOST, name) for name in ("ollama", "lobechat", "front-door")}
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(pool.map(_run, _selected(request.session)))
    wall = time.monotonic() - started
    after = {name: fl.container_id(fl.HOST, name) for name in ("ollama", "lobechat", "front-door")}
    probe_engine = fl.in_host(fl.PROBE, "command -v docker podman || true").stdout.strip()
    return results, wall, before, after, probe_engine


# Inputs whose refusal names another variable than the one the user set (a role problem, see the
# issue-6 report); strict, so the mark must go once the roles name the right variable.
KNOWN_MISNAMED = {}


def _params():
    for case in BAD_INPUTS:
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN_MISNAMED[case[0]])] if case[0] in KNOWN_MISNAMED else []
        yield pytest.param(case, id=case[0], marks=marks)


@pytest.mark.parametrize("case", list(_params()))
def test_bad_input_fails_in_validation(bad_runs, case, figure):
    results, _, _, _, _ = bad_runs
    case_id, extra, variable = case
    res = results[case_id]
    f = figure("8 bad input", "%s (must name %s)" % (fl.json.dumps(extra)[:90], variable))
    msgs = res.fatal_msgs()
    f.add("rc / changed", "%s / %s" % (res.rc, ",".join(str(res.recap.get(h, {}).get("changed", "?"))
                                                        for h in (fl.HOST, fl.PROBE))))
    f.add("seconds", "%.0f" % res.seconds)
    f.add("message", (msgs[0].split("\n")[-1][:150] if msgs else "-"))
    assert res.rc != 0, "%s was accepted:\n%s" % (extra, res.tail())
    for host in (fl.HOST, fl.PROBE):
        assert host in res.recap, res.tail()
        assert res.recap[host]["failed"] == 1, res.tail()
        assert res.recap[host]["changed"] == 0, "%s changed something on %s:\n%s" % (case_id, host, res.tail())
    # The failure is in a validation task (argument spec or the roles' own checks), naming the variable.
    task = res.failing_task() or ""
    assert any(word in task for word in ("argument", "Validat", "Refuse", "Check that", "validate")), task
    assert msgs and all(variable in m for m in msgs), "the message does not name %s: %s" % (variable, msgs)
    assert "\nchanged: [" not in res.output

def test_lobechat_1x_is_refused_naming_the_advisories(bad_runs):
    results = bad_runs[0]
    for case in ("lobechat-1x-image", "lobechat-2x-below-fix"):
        text = " ".join(results[case].fatal_msgs())
        assert "CVE-2026-54157" in text and "lobechat_allow_unsafe_version" in text, (case, text)
    assert "CVE-2026-39411" in " ".join(results["lobechat-1x-image"].fatal_msgs())


# What each below-floor row's message must name: the advisories of that release (meta/advisories.yml).
BELOW_FLOOR = {
    "ollama-below-floor-0.32.15": ["CVE-2026-85180", "CVE-2026-108836", "ollama_allow_unsafe_version"],
    "ollama-below-floor-0.35.0": ["CVE-2026-103663", "GHSA-w8p2-phwr-px3r"],
    "lobehub-below-floor-2.2.19": ["CVE-2026-142235", "lobechat_allow_unsafe_version"],
    "open-webui-below-floor": ["CVE-2026-109285 to CVE-2026-109300", "open_webui_allow_unsafe_version"],
    "front-door-below-floor": ["1.30.4 to 1.30.8", "front_door_allow_unsafe_version"],
    "api-guard-below-floor": ["1.30.4 to 1.30.8", "api_guard_allow_unsafe_version"],
}


def test_each_image_below_its_floor_is_refused_naming_its_advisories(bad_runs):
    results = bad_runs[0]
    for case, named in BELOW_FLOOR.items():
        text = " ".join(results[case].fatal_msgs())
        assert all(n in text for n in named), (case, text)
        assert "CVE-2026-7020" not in text, (case, text)


def test_access_code_era_variables_point_at_the_2x_settings(bad_runs):
    results = bad_runs[0]
    for case in ("access-code-1x", "access-code-file-1x", "access-code-in-env"):
        text = " ".join(results[case].fatal_msgs())
        assert "lobechat_admin_email" in text and "lobechat_allowed_emails" in text, (case, text)
        assert "sneaky-code-123" not in results[case].output


def test_mirror_credentials_are_refused_without_showing_them(bad_runs):
    results = bad_runs[0]
    res = results["mirror-credentials-in-url"]
    assert "mirror-secret-9" not in res.output
    assert "the URL carries credentials" in " ".join(res.fatal_msgs())


def test_bad_input_summary(bad_runs, figure):
    results, wall, before, after, probe_engine = bad_runs
    f = figure("8 bad input", "%d invalid inputs, one site.yml run each against the converged host and a bare "
               "host (2 runs at a time)" % len(BAD_INPUTS))
    secs = sorted(r.seconds for r in results.values())
    named = sum(1 for (cid, _, var) in BAD_INPUTS
                if all(var in m for m in results[cid].fatal_msgs()) and results[cid].fatal_msgs())
    failed_in_validation = sum(1 for r in results.values() if r.rc != 0
                               and all(r.recap.get(h, {}).get("changed", 1) == 0 for h in (fl.HOST, fl.PROBE)))
    f.add("inputs", len(BAD_INPUTS))
    f.add("refused with changed=0 on both hosts", failed_in_validation)
    f.add("message names the variable set", "%d of %d" % (named, len(BAD_INPUTS)))
    f.add("seconds per run median / max", "%.1f / %.1f" % (secs[len(secs) // 2], secs[-1]))
    f.add("table wall s", "%.0f" % wall)
    assert before == after, "containers on the converged host changed: %s -> %s" % (before, after)
    assert probe_engine == "", "an engine appeared on the bare host: %s" % probe_engine
    f.add("container ids unchanged / bare host still has no engine", "yes / yes")


# Ports 80 and 443 held by another program on the bare host: the preflight role's listener check refuses the host,
# naming the ports and the program, in the first play; nothing changes.
_LISTENER = ("nohup python3 -c 'import socket, time\nss = []\nfor p in (80, 443):\n    s = socket.socket()\n"
             "    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n    s.bind((\"0.0.0.0\", p))\n"
             "    s.listen()\n    ss.append(s)\ntime.sleep(600)' >/dev/null 2>&1 & echo $!")


@pytest.mark.parametrize("port", [80, 443])
def test_front_door_ports_taken_are_refused(lab, figure, port):
    f = figure("8 bad input", "another program listens on %d of the bare host: site.yml must refuse the host" % port)
    pid = fl.in_host(fl.PROBE, _LISTENER.replace("(80, 443)", "(%d,)" % port)).stdout.strip()
    try:
        fl.wait_until(lambda: fl.in_host(fl.PROBE, "ss -Htln 'sport = :%d' | grep -q LISTEN" % port, check=False)
                      .returncode == 0, 20, "the listener on %d" % port)
        res = fl.run_play({"llmops_target_hosts": fl.PROBE}, limit=fl.PROBE, timeout=240)
    finally:
        fl.in_host(fl.PROBE, "kill %s" % pid, check=False)
    msgs = res.fatal_msgs()
    f.add("rc / changed", "%s / %s" % (res.rc, res.recap.get(fl.PROBE, {}).get("changed", "?")))
    f.add("message", (msgs[0].split("\n")[-1][:150] if msgs else "-"))
    assert res.rc != 0, res.tail()
    assert res.recap[fl.PROBE]["failed"] == 1 and res.recap[fl.PROBE]["changed"] == 0, res.tail()
    assert msgs and any("ports:" in m and ":%d by python3" % port in m for m in msgs), msgs
    assert fl.in_host(fl.PROBE, "command -v docker podman || true").stdout.strip() == ""
