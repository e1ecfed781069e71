"""Item 7: exposure. From a second lab host Ollama's port is closed and LobeChat refuses a missing
or wrong access code; a -vvv run of site.yml prints the access code and a `headers` token zero
times; both containers run without privileged, with no-new-privileges and bounded logs."""
import json
import re


import faultlab as fl

NEW_CODE = "faults-rotated-code-77d1b3e0c4"
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


def test_ports_from_another_host(lab, figure):
    f = figure("7 exposure", "from the probe lab host: curl Ollama's 11434 and LobeChat's 3210 on the fault host")
    ip = host_ip()
    rc, status, _ = probe_curl("http://%s:11434/api/version" % ip)
    f.add("11434 from outside", "curl exit %d (%s)" % (rc, {7: "connection refused", 28: "timeout"}.get(rc, status)))
    assert rc in (7, 28), "Ollama answered from another host: status %s" % status
    rc, status, _ = probe_curl("http://%s:3210/" % ip)
    f.add("3210 from outside", "HTTP %s" % status)
    assert rc == 0 and status == "200", "LobeChat is not reachable for colleagues (rc %d)" % rc
    # What the inner engine publishes: Ollama only on loopback.
    ports = fl.inner_docker(fl.HOST, "port", "ollama").stdout.split()
    f.add("docker port ollama", " ".join(ports))
    assert ports and all(p.startswith("127.0.0.1:") for p in ports if ":" in p and "->" not in p), ports
    # CORS: a foreign origin is refused, never echoed.
    res = fl.in_host(fl.HOST, "curl -sS -m 5 -o /dev/null -D - -H 'Origin: https://evil.example' "
                     "http://127.0.0.1:11434/api/tags")
    f.add("foreign Origin on /api/tags", res.stdout.splitlines()[0].strip())
    assert "evil.example" not in res.stdout and "Access-Control-Allow-Origin: *" not in res.stdout


def _chat(ip, code):
    header = "-H 'X-Lobe-Chat-Access-Code: %s' " % code if code is not None else ""
    body = json.dumps({"model": fl.SMALL_MODEL, "messages": [{"role": "user", "content": "hello there"}],
                       "stream": False})
    return probe_curl("-X POST %s-H 'Content-Type: application/json' -d '%s' http://%s:3210/webapi/chat/ollama"
                      % (header, body, ip))


def test_lobechat_access_code(lab, figure):
    f = figure("7 exposure", "LobeChat chat from the probe host: no code, a wrong code, the right code")
    ip = host_ip()
    _, none_status, none_body = _chat(ip, None)
    _, wrong_status, _ = _chat(ip, "not-the-code-000000")
    _, right_status, right_body = _chat(ip, lab.vars["lobechat_access_code"])
    f.add("no code / wrong / right", "HTTP %s / %s / %s" % (none_status, wrong_status, right_status))
    assert none_status == "401" and "InvalidAccessCode" in none_body
    assert wrong_status == "401"
    assert right_status == "200" and "lab double" in right_body, right_body[:300]
    mode = fl.in_host(fl.HOST, "stat -c '%a %U' /etc/llmops/lobechat-access-code").stdout.strip()
    f.add("stored code file", mode)
    assert mode == "600 root"


def _headers_variable():
    """The ollama_models role's variable for the modules' `headers` option, if it has one."""
    spec = (fl.ROOT / "roles" / "ollama_models" / "meta" / "argument_specs.yml").read_text()
    m = re.search(r"^\s{6}(ollama_models_\w*headers\w*):", spec, re.M)
    return m.group(1) if m else None


def test_vvv_prints_no_secret(lab, figure, tmp_path):
    f = figure("7 exposure", "site.yml -vvv that rotates the access code (code and a headers token in extra vars); "
               "ollama_model_info -vvv with headers; count the secrets in the output")
    extra = {"lobechat_access_code": NEW_CODE}
    headers_var = _headers_variable()
    if headers_var:
        extra[headers_var] = {"Authorization": "Bearer " + TOKEN}
    res = lab.converge(extra, args=["-vvv"], timeout=600, log=str(tmp_path / "vvv.log"))
    assert res.rc == 0, res.tail(80)
    lab.vars.update(extra)
    code_count = res.output.count(NEW_CODE)
    token_count = res.output.count(TOKEN)
    f.add("site.yml -vvv output lines", len(res.output.splitlines()))
    f.add("access code printed", code_count)
    f.add("headers token printed (site.yml)", "%d%s" % (token_count, "" if headers_var else
                                                        " (the role has no headers variable)"))
    # The module's own no_log on `headers`, run on the host at -vvv.
    mod = fl.run_play(None, playbook="tests/faults/playbooks/headers_vvv.yml",
                      args=["-vvv", "-e", "faults_token=" + TOKEN], timeout=180, log=str(tmp_path / "mod.log"))
    assert mod.rc == 0, mod.tail(60)
    module_count = mod.output.count(TOKEN)
    f.add("headers token printed (ollama_model_info -vvv)", module_count)
    assert code_count == 0, [line for line in res.output.splitlines() if NEW_CODE in line][:5]
    assert token_count == 0
    assert module_count == 0, [line for line in mod.output.splitlines() if TOKEN in line][:5]
    # The rotated code works and the old one does not.
    ip = host_ip()
    fl.wait_until(lambda: fl.both_healthy(fl.HOST), 120, "both containers healthy after the code rotation")
    assert _chat(ip, NEW_CODE)[1] == "200"
    assert _chat(ip, type(lab).ACCESS_CODE)[1] == "401"
    _SEEN["site_token_count"] = token_count if headers_var else None


_SEEN = {}


def test_site_yml_passes_headers_token_unprinted(lab, figure):
    figure("7 exposure", "site.yml carries an ollama_models headers token to the modules, unprinted at -vvv")
    assert _headers_variable() is not None
    assert _SEEN.get("site_token_count") == 0


def test_container_hardening(lab, figure):
    f = figure("7 exposure", "docker inspect of both containers inside the lab host")
    for name in ("ollama", "lobechat"):
        data = json.loads(fl.inner_docker(fl.HOST, "inspect", name).stdout)[0]
        hc = data["HostConfig"]
        log = hc["LogConfig"]
        f.add(name, "Privileged=%s SecurityOpt=%s CapDrop=%s Log=%s %s" % (
            hc["Privileged"], hc.get("SecurityOpt"), hc.get("CapDrop"), log["Type"],
            ",".join("%s=%s" % kv for kv in sorted(log.get("Config", {}).items()))))
        assert hc["Privileged"] is False
        assert "no-new-privileges" in (hc.get("SecurityOpt") or []) or \
            "no-new-privileges:true" in (hc.get("SecurityOpt") or [])
        assert "ALL" in (hc.get("CapDrop") or [])
        assert log["Type"] in ("json-file", "local")
        assert log["Config"].get("max-size") and int(log["Config"].get("max-file", "0")) >= 1
        for bindings in (hc.get("PortBindings") or {}).values():
            for b in bindings or []:
                if name == "ollama":
                    assert b["HostIp"] == "127.0.0.1", b
