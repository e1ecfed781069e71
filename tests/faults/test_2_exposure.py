"""Item 7: exposure. From a second lab host Ollama's and LobeChat's ports are closed, the front door
answers on https (http redirects) and LobeHub (LobeChat 2.x) behind it refuses a chat without a session and a wrong
password, and answers once the admin signs in; a -vvv run of site.yml that replaces LobeHub's secrets prints none of
them, nor a `headers` token or the TLS private key (issue 16, must-show 4); both containers run without privileged, with no-new-privileges and bounded logs. Issue 11: a neighbour
that routes the inner container network, or 127.0.0.1, through the host reaches no container port
(the container_runtime role's LAN exposure filter, docs/lan-exposure.md), also after an engine restart. The same
neighbour against Debian 13 with Docker and with Podman runs in the molecule scenarios that converge those hosts
anyway (molecule/fleet: llmops-fleet-2; molecule/podman), from tests/exposure/lan_neighbour.py."""
import datetime
import json
import re
import tempfile

import faultlab as fl
import lan_neighbour as nb

# New values for LobeHub's secrets, given in the -vvv run (the admin's password is LobeHub's once the account exists,
# so it stays).
NEW_SECRETS = {
    "lobechat_auth_secret": "faults-rotated-auth-secret-77d1b3e0c4a5b6c7d8e9f0a1",
    "lobechat_key_vaults_secret": "ZmF1bHRzLXJvdGF0ZWQta2V5LXZhdWx0cy1zZWNyZXQ=",
    "lobechat_postgres_password": "faults-rotated-postgres-password-1f2e",
}
TOKEN = "faults-bearer-token-3c9a61f2e8d4"


def host_ip(name=fl.HOST):
    return fl.host_ip(name)


def probe_curl(args, timeout=15):
    """curl from the probe host; returns (exit code, http status or '', body)."""
    res = fl.in_host(fl.PROBE, "curl -sS -m 3 -o /tmp/body -w '%%{http_code}' %s; echo \" rc=$?\"; cat /tmp/body 2>/dev/null; rm -f /tmp/body"
                     % args, timeout=timeout, check=False)
    first, _, body = res.stdout.partition("\n")
    m = re.search(r"(\d{3})? ?rc=(\d+)", first)
    return int(m.group(2)), (m.group(1) or ""), body


CERTIFICATE = "/etc/llmops/front-door/tls/certificate.pem"
PRIVATE_KEY = "/etc/llmops/front-door/tls/private-key.pem"


def test_ports_from_another_host(lab, figure):
    f = figure("7 exposure", "from the probe lab host: curl Ollama's 11434, LobeChat's 3210 and the front door's "
               "443 (with the host's certificate) and 80 on the fault host")
    ip = host_ip()
    rc, status, _ = probe_curl("http://%s:11434/api/version" % ip)
    f.add("11434 from outside", "curl exit %d (%s)" % (rc, {7: "connection refused", 28: "timeout"}.get(rc, status)))
    assert rc in (7, 28), "Ollama answered from another host: status %s" % status
    rc, status, _ = probe_curl("http://%s:3210/" % ip)
    f.add("3210 from outside", "curl exit %d (%s)" % (rc, {7: "connection refused", 28: "timeout"}.get(rc, status)))
    assert rc in (7, 28), "LobeChat answered on its own port from another host: status %s" % status
    # The front door, verified with the host's own (self-signed) certificate as the authority.
    cert = fl.in_host(fl.HOST, "cat %s" % CERTIFICATE).stdout
    fl.sh(["docker", "exec", "-i", fl.PROBE, "sh", "-c", "cat > /tmp/front-door.pem"], input=cert)
    rc, status, _ = probe_curl("--cacert /tmp/front-door.pem https://%s/" % ip)
    f.add("https://<host>/ from outside (the host's certificate as CA)", "HTTP %s" % status)
    assert rc == 0 and status == "200", "the front door is not reachable for colleagues (rc %d)" % rc
    res = fl.in_host(fl.PROBE, "curl -sS -m 5 -o /dev/null -D - http://%s/some/path" % ip)
    location = [ln.split(":", 1)[1].strip() for ln in res.stdout.splitlines() if ln.lower().startswith("location:")]
    f.add("http://<host>/some/path", "%s -> %s" % (res.stdout.splitlines()[0].strip(), location))
    assert " 301" in res.stdout.splitlines()[0] and location == ["https://%s/some/path" % ip]
    # What the inner engine publishes: Ollama only on loopback.
    ports = fl.inner_docker(fl.HOST, "port", "ollama").stdout.split()
    f.add("docker port ollama", " ".join(ports))
    assert ports and all(p.startswith("127.0.0.1:") for p in ports if ":" in p and "->" not in p), ports
    # CORS: a foreign origin is refused, never echoed.
    res = fl.in_host(fl.HOST, "curl -sS -m 5 -o /dev/null -D - -H 'Origin: https://evil.example' "
                     "http://127.0.0.1:11434/api/tags")
    f.add("foreign Origin on /api/tags", res.stdout.splitlines()[0].strip())
    assert "evil.example" not in res.stdout and "Access-Control-Allow-Origin: *" not in res.stdout


def _sign_in(ip, email, password, jar="/tmp/lobehub.jar", name=None):
    """Better Auth's e-mail sign-in through the front door from the probe host; curl keeps the cookie in `jar`. With
    name, the request goes to https://name/ at ip (the front door answers only the names it is for)."""
    body = json.dumps({"email": email, "password": password})
    target = "--resolve %s:443:%s https://%s" % (name, ip, name) if name else "https://%s" % ip
    return probe_curl("-k -c %s -X POST -H 'Content-Type: application/json' -d '%s' %s/api/auth/sign-in/email"
                      % (jar, body, target))


def _chat(ip, jar=None, header=None):
    """The chat relay through the front door, with the session cookie in `jar`, or none."""
    body = json.dumps({"model": fl.SMALL_MODEL, "messages": [{"role": "user", "content": "hello there"}],
                       "stream": True})
    return probe_curl("-k -X POST %s%s-H 'Content-Type: application/json' -d '%s' https://%s/webapi/chat/ollama"
                      % ("-b %s " % jar if jar else "", "-H '%s' " % header if header else "", body, ip))


def test_lobehub_sign_in(lab, figure):
    f = figure("7 exposure", "LobeHub through the front door from the probe host: a chat without a session and with the "
                             "1.x header, a wrong password, the admin's password, then a chat with its session")
    ip = host_ip()
    _, none_status, _ = _chat(ip)
    _, forged_status, _ = _chat(ip, header="X-lobe-chat-auth: eyJhcGlLZXkiOiJ4In0=")
    _, wrong_status, _ = _sign_in(ip, lab.ADMIN_EMAIL, "not-the-password-000000", jar="/tmp/wrong.jar")
    _, right_status, right_body = _sign_in(ip, lab.ADMIN_EMAIL, lab.ADMIN_PASSWORD)
    _, chat_status, chat_body = _chat(ip, jar="/tmp/lobehub.jar")
    f.add("chat without a session / with the 1.x header", "HTTP %s / %s" % (none_status, forged_status))
    f.add("sign-in wrong / right password; chat signed in", "HTTP %s / %s; %s" % (wrong_status, right_status, chat_status))
    assert none_status == "401" and forged_status == "401"
    assert wrong_status == "401"
    assert right_status == "200" and json.loads(right_body)["user"]["email"] == lab.ADMIN_EMAIL, right_body[:300]
    assert chat_status == "200" and "event: text" in chat_body, chat_body[:300]
    modes = fl.in_host(fl.HOST, "stat -c '%n %a %U' /etc/llmops/lobechat /etc/llmops/lobechat/*").stdout.strip()
    f.add("secret files", modes.replace("\n", "; "))
    lines = modes.splitlines()
    assert lines[0].endswith(" 700 root") and len(lines) == 6
    assert all(line.endswith(" 600 root") for line in lines[1:]), modes


def _headers_variable():
    """The ollama_models role's variable for the modules' `headers` option, if it has one."""
    spec = (fl.ROOT / "roles" / "ollama_models" / "meta" / "argument_specs.yml").read_text()
    m = re.search(r"^\s{6}(ollama_models_\w*headers\w*):", spec, re.M)
    return m.group(1) if m else None


def _tls_pair(where):
    """A certificate and key of the user's own (files on the controller), made with the cryptography library."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chat.faults.example")])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("chat.faults.example")]), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    with open(where + "/chat.crt", "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(where + "/chat.key", "w", encoding="ascii") as fh:
        fh.write(key_pem)
    return where + "/chat.crt", where + "/chat.key", key_pem


def _key_lines(pem):
    """The base64 lines of a PEM key: any of them in an output is the key leaking."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def test_vvv_prints_no_secret(lab, figure, tmp_path):
    f = figure("7 exposure", "site.yml -vvv that replaces LobeHub's secrets and the self-signed certificate "
               "with the user's (secrets, a headers token and the key file in extra vars); ollama_model_info -vvv with "
               "headers; count the secrets in the output")
    self_signed_key = fl.in_host(fl.HOST, "cat %s" % PRIVATE_KEY).stdout
    cert_file, key_file, user_key = _tls_pair(tempfile.mkdtemp(prefix="vvv-", dir=fl.scratch()))
    extra = dict(NEW_SECRETS, front_door_tls_certificate_file=cert_file, front_door_tls_key_file=key_file)
    headers_var = _headers_variable()
    if headers_var:
        extra[headers_var] = {"Authorization": "Bearer " + TOKEN}
    res = lab.converge(extra, args=["-vvv"], timeout=600, log=str(tmp_path / "vvv.log"))
    assert res.rc == 0, res.tail(80)
    lab.vars.update(extra)
    # Every LobeHub secret, the old values (passed on every converge) and the new ones, and the private exponent of
    # the JWKS_KEY the role generated on the host.
    jwk = json.loads(fl.in_host(fl.HOST, "cat /etc/llmops/lobechat/jwks-key").stdout)["keys"][0]
    secrets = list(lab.SECRETS.values()) + list(NEW_SECRETS.values()) + [jwk["d"], jwk["p"]]
    code_count = sum(res.output.count(value) for value in secrets)
    token_count = res.output.count(TOKEN)
    key_count = sum(res.output.count(line) for line in _key_lines(user_key) + _key_lines(self_signed_key))
    stored_key = fl.in_host(fl.HOST, "cat %s; stat -c '%%a %%U' %s" % (PRIVATE_KEY, PRIVATE_KEY)).stdout
    f.add("site.yml -vvv output lines", len(res.output.splitlines()))
    f.add("LobeHub secrets printed (admin password, AUTH_SECRET, KEY_VAULTS_SECRET, database password, old and new; "
          "JWKS_KEY's private parts)", code_count)
    f.add("TLS private key lines printed (the user's and the replaced self-signed one)", key_count)
    f.add("headers token printed (site.yml)", "%d%s" % (token_count, "" if headers_var else
                                                        " (the role has no headers variable)"))
    # The module's own no_log on `headers`, run on the host at -vvv.
    mod = fl.run_play(None, playbook="tests/faults/playbooks/headers_vvv.yml",
                      args=["-vvv", "-e", "faults_token=" + TOKEN], timeout=180, log=str(tmp_path / "mod.log"))
    assert mod.rc == 0, mod.tail(60)
    module_count = mod.output.count(TOKEN)
    f.add("headers token printed (ollama_model_info -vvv)", module_count)
    assert code_count == 0, [line[:200] for line in res.output.splitlines() if any(v in line for v in secrets)][:5]
    assert key_count == 0, "the TLS private key appeared in the -vvv output"
    assert stored_key.strip().endswith("600 root") and user_key.strip() in stored_key
    assert token_count == 0
    assert module_count == 0, [line for line in mod.output.splitlines() if TOKEN in line][:5]
    # LobeHub runs with the new secrets (the database password was changed in Postgres too): the admin signs in.
    ip = host_ip()
    fl.wait_until(lambda: fl.both_healthy(fl.HOST), 120, "both containers healthy after the secrets were replaced")
    stored = fl.in_host(fl.HOST, "cat /etc/llmops/lobechat/auth-secret").stdout
    assert stored == NEW_SECRETS["lobechat_auth_secret"]
    # The user's certificate names chat.faults.example, not the host's address: the front door now answers that name.
    assert _sign_in(ip, lab.ADMIN_EMAIL, lab.ADMIN_PASSWORD, name="chat.faults.example")[1] == "200"
    assert _sign_in(ip, lab.ADMIN_EMAIL, lab.ADMIN_PASSWORD)[1] == "000", "a Host the front door is not for was answered"
    _SEEN["site_token_count"] = token_count if headers_var else None


_SEEN = {}


def test_site_yml_passes_headers_token_unprinted(lab, figure):
    figure("7 exposure", "site.yml carries an ollama_models headers token to the modules, unprinted at -vvv")
    assert _headers_variable() is not None
    assert _SEEN.get("site_token_count") == 0


# What each container claims (issue 11, must-show 5): a read-only root and its own user where the image allows it.
# Ollama's image runs as root and writes under /root/.ollama and /tmp; LobeChat's 1.x image writes to its
# own directory; nginx's master starts as root and hands the work to its worker user.
READ_ONLY = {"ollama-guard", "ollama"}


def test_container_hardening(lab, figure):
    f = figure("7 exposure", "docker inspect of every container inside the lab host: limits, user, read-only root, "
                             "privileges, logs, published ports")
    for name in ("ollama", "ollama-guard", "lobechat", "lobechat-postgres", "lobechat-redis", "front-door"):
        data = json.loads(fl.inner_docker(fl.HOST, "inspect", name).stdout)[0]
        hc = data["HostConfig"]
        log = hc["LogConfig"]
        published = sorted("%s:%s" % (b["HostIp"] or "0.0.0.0", b["HostPort"])
                           for bindings in (hc.get("PortBindings") or {}).values() for b in bindings or [])
        f.add(name, "Memory=%dMiB PidsLimit=%s User=%s ReadonlyRootfs=%s Privileged=%s SecurityOpt=%s CapDrop=%s "
                    "CapAdd=%s Log=%s %s Published=%s" % (
                        hc["Memory"] // 1048576, hc.get("PidsLimit"), data["Config"].get("User") or "root",
                        hc.get("ReadonlyRootfs"), hc["Privileged"], hc.get("SecurityOpt"), hc.get("CapDrop"),
                        hc.get("CapAdd"), log["Type"], ",".join("%s=%s" % kv for kv in sorted(log.get("Config", {}).items())),
                        ",".join(published) or "none"))
        assert hc["Privileged"] is False
        assert "no-new-privileges" in (hc.get("SecurityOpt") or []) or \
            "no-new-privileges:true" in (hc.get("SecurityOpt") or [])
        assert "ALL" in (hc.get("CapDrop") or [])
        assert log["Type"] in ("json-file", "local")
        assert log["Config"].get("max-size") and int(log["Config"].get("max-file", "0")) >= 1
        assert hc.get("ReadonlyRootfs") is (name in READ_ONLY), name
        assert hc["Memory"] > 0 and (hc.get("PidsLimit") or 0) > 0, (name, hc["Memory"], hc.get("PidsLimit"))
        for bindings in (hc.get("PortBindings") or {}).values():
            for b in bindings or []:
                assert name in ("ollama", "front-door"), "%s publishes %s" % (name, b)
                if name == "ollama":
                    assert b["HostIp"] == "127.0.0.1", b


# --- Issue 11: a neighbour that routes to the inner container network, or to 127.0.0.1, through the host ---

# The neighbour's probes (tests/exposure/lan_neighbour.py); here from the probe lab host, whose routes are set up and
# taken down around each probe. The sysctls the loopback route needs are set in that host (a one-shot neighbour
# container gets them from docker run).
def _loopback_route_script(host_ip, ports):
    return "\n".join(["set -e", "mount -o remount,rw /proc/sys", "sysctl -qw " + " ".join(nb.SYSCTLS)]
                     + nb.loopback_rules(host_ip, ports))


def _probe(targets):
    res = fl.sh(["docker", "exec", fl.PROBE, "python3", "-c", nb.CONNECT] + targets, timeout=60)
    return json.loads(res.stdout)


def _filter_in_place(host):
    return nb.filter_in_place(lambda command: fl.in_host(host, command).stdout)


def test_lan_neighbour_routing_through_the_host(lab, figure):
    """Issue 11, must-show 1: a neighbour routes the inner container subnet, and 127.0.0.1, through the
    fault host; no port of Ollama or LobeChat answers it, only what is published beyond loopback (the
    front door) does. With the filter taken away the same probes reach Ollama (the test can fail), and
    the unit puts it back."""
    f = figure("7 exposure", "neighbour lab host: ip route <inner subnet> via the fault host, and TCP to 127.0.0.1 "
               "through it (policy rule, route_localnet); TCP connects to every container port of the network and "
               "every published port; then the filter removed, the probes again, the filter back by its unit")
    ip = host_ip()
    subnets, containers = nb.engine_targets(lambda command: fl.in_host(fl.HOST, command).stdout, "docker")
    assert {"ollama@llmops", "ollama-guard@llmops", "lobechat@llmops-ui", "front-door@llmops-ui"} <= set(containers), \
        containers
    assert 11434 in containers["ollama@llmops"]["ports"] and 3210 in containers["lobechat@llmops-ui"]["ports"], containers
    direct, published, loopback, beyond_loopback = nb.plan(containers, ip)
    assert _filter_in_place(fl.HOST), fl.in_host(fl.HOST, "iptables -S DOCKER-USER; iptables -S LLMOPS-FORWARD").stdout
    try:
        for subnet in subnets:
            fl.in_host(fl.PROBE, "ip route replace %s via %s" % (subnet, ip))
        fl.in_host(fl.PROBE, _loopback_route_script(ip, published))
        route = fl.in_host(fl.PROBE, "ip route get 127.0.0.1 ipproto 6 dport %d" % published[0]).stdout
        assert "via %s" % ip in route, route        # the neighbour really sends 127.0.0.1 to the fault host
        seen = _probe(direct + loopback + beyond_loopback)
        answering = sorted(t for t in direct + loopback if seen[t] == "open")
        f.add("ports probed (container addresses / 127.0.0.1 via the host)", "%d / %d" % (len(direct), len(loopback)))
        f.add("ports answering", "%d%s" % (len(answering), (" " + ", ".join(answering)) if answering else ""))
        f.add("published beyond loopback, answering (the front door)",
              ", ".join("%s %s" % (t.rsplit(":", 1)[1], seen[t]) for t in beyond_loopback) or "none")
        # The filter's work, not something else's: without it the same neighbour reaches Ollama.
        fl.in_host(fl.HOST, nb.REMOVE_FILTER_JUMP)
        unfiltered = _probe(direct + loopback)
        open_unfiltered = sorted(t for t in direct + loopback if unfiltered[t] == "open")
        f.add("without the filter, answering", "%d (%s)" % (len(open_unfiltered), ", ".join(open_unfiltered)))
        fl.in_host(fl.HOST, nb.RESTORE_FILTER)
        again = _probe(direct + loopback)
        f.add("after systemctl restart llmops-forward-filter, answering",
              sum(1 for t in direct + loopback if again[t] == "open"))
    finally:
        fl.in_host(fl.PROBE, "%s; %s" % ("; ".join("ip route del %s 2>/dev/null" % subnet for subnet in subnets),
                                         nb.UNDO_LOOPBACK_RULES), check=False)
        fl.in_host(fl.HOST, nb.RESTORE_FILTER, check=False)
    assert answering == [], "ports that answered a neighbour routing through the host: %s" % answering
    assert all(seen[t] == "open" for t in beyond_loopback), {t: seen[t] for t in beyond_loopback}
    ollama = "%s:11434" % containers["ollama@llmops"]["ip"]
    # On Docker before 28 the unfiltered probes reach Ollama both ways; on an engine that blocks it
    # by itself they would not, and this says so instead of passing quietly.
    assert unfiltered[ollama] == "open" and unfiltered["127.0.0.1:11434"] == "open", (
        "without the filter the neighbour did not reach Ollama (%s): the probe proves nothing here" % unfiltered)
    assert all(again[t] != "open" for t in direct + loopback), again
    # The host's own access, and the containers' egress (models come from a registry) keep working.
    assert fl.api(fl.HOST, "/api/version")["version"]
    egress = fl.inner_docker(fl.HOST, "exec", "lobechat", "python3", "-c",
                             "import urllib.request as u; print(u.urlopen('http://10.213.0.2:5000/v2/', timeout=5).status)")
    f.add("host's own 127.0.0.1:11434 / container egress to the registry", "answers / HTTP %s" % egress.stdout.strip())
    assert egress.stdout.strip() == "200"


def test_lan_filter_survives_engine_restart(lab, figure):
    """The filter stays after `systemctl restart docker` (Docker keeps DOCKER-USER; the unit, PartOf
    docker.service, applies it again) and a re-run of the role reports nothing to change."""
    f = figure("7 exposure", "systemctl restart docker in the fault host, then the filter's rules; site.yml --check")
    fl.in_host(fl.HOST, "systemctl restart docker", timeout=120)
    fl.wait_until(lambda: fl.both_healthy(fl.HOST), 120, "both containers healthy after the engine restart")
    rules = fl.in_host(fl.HOST, "iptables -S LLMOPS-FORWARD").stdout
    f.add("after the engine restart", "jump first in DOCKER-USER: %s; rules: %d" % (
        _filter_in_place(fl.HOST), rules.count("-A LLMOPS-FORWARD")))
    assert _filter_in_place(fl.HOST) and rules.count("-A LLMOPS-FORWARD") == 4, rules  # two for each network: Ollama's and the UIs'
    res = lab.converge(args=["--check"], timeout=600)
    f.add("site.yml --check on the converged host", "rc=%s changed=%s" % (res.rc, res.recap.get(fl.HOST, {}).get("changed")))
    assert res.rc == 0 and res.changed(fl.HOST) == 0, res.tail(60)
