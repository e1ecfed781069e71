"""The front door's nginx configuration (roles/front_door/templates/nginx.conf.j2), rendered with Jinja2 from the
role's defaults and vars as tests/roles/test_api_guard_config.py does, then run with Debian's nginx on this machine's
loopback (issue 30): Mozilla's intermediate TLS profile, limits per client address (429 beyond them), timeouts that
give idle connections back, enough connection slots that idle connections do not starve other clients, and no answer
for a Host the front door is not for.

Only what must differ for a local run is rewritten (listen addresses and ports, the pid, log and temporary paths, the
resolver, one worker process so that the slot count does not depend on this machine's cores); the TLS, limit and
timeout directives run as rendered. nginx starts with a soft limit of 1024 open files, as Docker gives containers, so
the configuration's own worker_rlimit_nofile must lift it."""

import concurrent.futures
import contextlib
import http.client
import http.server
import os
import pathlib
import re
import resource
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import jinja2
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "front_door"
NAME = "chat.lab.example"
# Mozilla's intermediate profile (Server Side TLS 5.7), TLS 1.2 suites with ECDHE key exchange, in its order.
INTERMEDIATE_ECDHE = [
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
]
IDLE_CONNECTIONS = 2000
# A TLS record header: handshake (22), TLS 1.0 record version, 512 bytes to follow, which never come.
STALLED_HELLO = bytes([22, 3, 1, 2, 0])


def load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def render(**overrides):
    context = dict(load(ROLE / "defaults" / "main.yml"))
    # The role's static vars; those made of Jinja expressions are set here as Ansible would.
    context.update({k: v for k, v in load(ROLE / "vars" / "main.yml").items() if not (isinstance(v, str) and "{{" in v)})
    context.update(ansible_managed="Ansible managed", __front_door_resolver="127.0.0.11",
                   __front_door_upstream={"container": "lobechat", "port": 3210},
                   __front_door_server_name_list="%s 10.0.0.5 localhost 127.0.0.1 [::1]" % NAME)
    context.update(overrides)
    config_dir = context["front_door_config_dir"]
    context.setdefault("__front_door_certificate", config_dir + "/tls/certificate.pem")
    context.setdefault("__front_door_private_key", config_dir + "/tls/private-key.pem")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True, keep_trailing_newline=True)
    return env.from_string((ROLE / "templates" / "nginx.conf.j2").read_text(encoding="utf-8")).render(**context)


def directives(conf, name):
    """The values of every `name ...;` directive in the configuration."""
    return re.findall(r"^\s*%s\s+([^;]*);" % re.escape(name), conf, re.M)


def server_blocks(conf):
    """The text of each server { } block (the template indents them by four spaces)."""
    return re.findall(r"^    server \{\n(.*?)^    \}\n", conf, re.M | re.S)


# ---------------------------------------------------------------------------------------------------------------
# The rendered text

def test_tls_follows_mozillas_intermediate_profile():
    conf = render()
    assert directives(conf, "ssl_protocols") == ["TLSv1.2 TLSv1.3"]
    ciphers = directives(conf, "ssl_ciphers")
    assert len(ciphers) == 1 and ciphers[0].split(":") == INTERMEDIATE_ECDHE
    # Forward secrecy and AEAD only: no CBC suite, no static RSA key exchange.
    for suite in ciphers[0].split(":"):
        assert suite.startswith("ECDHE-") and ("-GCM-" in suite or suite.endswith("CHACHA20-POLY1305")), suite
    assert directives(conf, "ssl_prefer_server_ciphers") == ["off"]
    assert directives(conf, "ssl_session_cache") == ["shared:front_door:10m"]
    assert directives(conf, "ssl_session_timeout") == ["1d"]
    assert directives(conf, "ssl_session_tickets") == ["off"]
    # No DHE suite, so no Diffie-Hellman parameters to load; the comment says which profile and version.
    assert not directives(conf, "ssl_dhparam")
    assert "Mozilla's \"intermediate\" configuration, version 5.7" in conf


def test_limits_follow_the_role_variables():
    conf = render(front_door_limit_conn_per_address=7, front_door_limit_req_rate="9r/s", front_door_limit_req_burst=33,
                  front_door_limit_req_signin_rate="3r/m", front_door_limit_req_signin_burst=4)
    assert directives(conf, "limit_conn_zone") == ["$binary_remote_addr zone=front_door_addr:10m"]
    assert directives(conf, "limit_req_zone") == ["$binary_remote_addr zone=front_door_req:10m rate=9r/s",
                                                  "$front_door_signin_key zone=front_door_signin:10m rate=3r/m"]
    assert directives(conf, "limit_conn") == ["front_door_addr 7"]
    assert directives(conf, "limit_req") == ["zone=front_door_req burst=33 nodelay",
                                             "zone=front_door_signin burst=4 nodelay"]
    assert directives(conf, "limit_conn_status") == ["429"] and directives(conf, "limit_req_status") == ["429"]


def test_idle_connections_are_bounded():
    conf = render()
    assert directives(conf, "client_header_timeout") == ["10s"]
    assert directives(conf, "client_body_timeout") == ["30s"]
    assert directives(conf, "send_timeout") == ["30s"]
    assert directives(conf, "keepalive_timeout") == ["30s"]
    assert directives(conf, "reset_timedout_connection") == ["on"]
    slots = int(directives(conf, "worker_connections")[0])
    assert slots >= 2 * IDLE_CONNECTIONS
    assert int(directives(conf, "worker_rlimit_nofile")[0]) >= slots


def test_unknown_names_go_to_a_default_server_that_answers_nothing():
    conf = render()
    blocks = server_blocks(conf)
    defaults = [b for b in blocks if "default_server" in b]
    assert len(blocks) == 4 and len(defaults) == 2
    for block in defaults:
        assert directives(block, "server_name") == ["_"] and directives(block, "return") == ["444"]
        assert "location" not in block
    named = [b for b in blocks if "default_server" not in b]
    for block in named:
        assert directives(block, "server_name") == ["%s 10.0.0.5 localhost 127.0.0.1 [::1]" % NAME]
    # Handshakes are not refused: a browser that reaches the host by its address sends no name at all.
    assert not directives(conf, "ssl_reject_handshake")


def test_unknown_names_may_be_answered():
    blocks = server_blocks(render(front_door_refuse_unknown_names=False))
    assert len(blocks) == 2 and all("default_server" in b for b in blocks)
    assert all(directives(b, "server_name") == ["_"] for b in blocks)
    assert "444" not in "".join(blocks)


# ---------------------------------------------------------------------------------------------------------------
# The configuration run by a real nginx on loopback

class Upstream(http.server.BaseHTTPRequestHandler):
    """The chat UI: 200 for everything; /slow answers after 3 s (a streamed answer holding its request)."""
    in_flight = 0
    lock = threading.Lock()

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path.startswith("/slow"):
            with Upstream.lock:
                Upstream.in_flight += 1
            try:
                time.sleep(3)
            finally:
                with Upstream.lock:
                    Upstream.in_flight -= 1
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_HEAD = _answer

    def log_message(self, *args):
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_binary():
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if found and shutil.which("openssl"):
        return found
    subprocess.run([str(ROOT / "lab" / "bin" / "apt-ensure"), "nginx", "openssl"], check=True, timeout=600)
    return shutil.which("nginx") or "/usr/sbin/nginx"


def rewrite_for_loopback(conf, run, https_port, http_port, upstream_port):
    """Only what differs on this machine; each rewrite must find what it replaces."""
    rewrites = [
        (r"^worker_processes auto;$", "worker_processes 1;", 1),
        (r"^pid /tmp/nginx\.pid;$", "pid %s/nginx.pid;" % run, 1),
        (r"^error_log stderr notice;$", "error_log %s/error.log info;" % run, 1),
        (r"access_log /dev/stdout;", "access_log %s/access.log;" % run, 1),
        (r"(_temp_path) /tmp/nginx-", r"\1 %s/nginx-" % run, 5),
        (r"resolver 127\.0\.0\.11 ", "resolver 127.0.0.1 ", 1),
        (r"listen 443 ssl", "listen 127.0.0.1:%d ssl" % https_port, 2),
        (r"listen 80([ ;])", r"listen 127.0.0.1:%d\1" % http_port, 2),
        (r"set \$front_door_upstream http://lobechat:3210;", "set $front_door_upstream http://127.0.0.1:%d;" % upstream_port, 1),
    ]
    for pattern, replacement, count in rewrites:
        conf, made = re.subn(pattern, replacement, conf, flags=re.M)
        assert made == count, (pattern, made)
    return conf


@pytest.fixture(scope="module")
def front_door():
    nginx = nginx_binary()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 3 * IDLE_CONNECTIONS:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 16384) if hard != resource.RLIM_INFINITY else 16384, hard))
    # nginx's workers run as an unprivileged user when the tests run as root: a directory they can enter.
    run = tempfile.mkdtemp(prefix="front-door-test-")
    os.chmod(run, 0o755)
    upstream = QuietServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    proc = None
    try:
        os.makedirs(run + "/tls")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=" + NAME,
                        "-addext", "subjectAltName=DNS:%s,IP:127.0.0.1" % NAME,
                        "-keyout", run + "/tls/private-key.pem", "-out", run + "/tls/certificate.pem"],
                       check=True, capture_output=True, timeout=60)
        https_port, http_port = free_port(), free_port()
        conf = rewrite_for_loopback(render(front_door_config_dir=run), run, https_port, http_port,
                                    upstream.server_address[1])
        pathlib.Path(run, "nginx.conf").write_text(conf, encoding="utf-8")
        command = [nginx, "-e", run + "/error.log", "-p", run, "-c", run + "/nginx.conf"]
        checked = subprocess.run(command + ["-t"], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stderr

        def docker_like_limits():
            # Docker (25 and later) starts containers with a soft limit of 1024 open files.
            _soft, hard_now = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard_now))

        proc = subprocess.Popen(command + ["-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                preexec_fn=docker_like_limits)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", https_port), timeout=1):
                break
            assert proc.poll() is None, pathlib.Path(run, "error.log").read_text()
            time.sleep(0.1)
        yield {"https": https_port, "http": http_port, "run": run, "cert": run + "/tls/certificate.pem"}
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        upstream.shutdown()
        upstream.server_close()
        shutil.rmtree(run, ignore_errors=True)


def error_log(front_door):
    return pathlib.Path(front_door["run"], "error.log").read_text(encoding="utf-8", errors="replace")[-3000:]


def client_context(front_door):
    context = ssl.create_default_context(cafile=front_door["cert"])
    # Host names are the test's subject here, not the certificate check.
    context.check_hostname = False
    return context


class Connection(http.client.HTTPSConnection):
    """HTTPS to the front door from a chosen loopback source address, with a chosen TLS server name (none: what a
    browser sends to a host reached by its address)."""

    def __init__(self, front_door, source="127.0.0.1", sni=NAME, timeout=10):
        super().__init__("127.0.0.1", front_door["https"], timeout=timeout, context=client_context(front_door),
                         source_address=(source, 0))
        self.sni = sni

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout, self.source_address)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.sni)


def status_of(conn, method, path, host=NAME, body=None):
    headers = {"Host": host}
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    resp.read()
    return resp.status


def s_client(front_door, *args):
    return subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % front_door["https"], "-servername", NAME]
                          + list(args), input="", capture_output=True, text=True, timeout=20)


def negotiated(result):
    match = re.search(r"New, (TLSv1\.[0-3]), Cipher is (\S+)", result.stdout)
    return (match.group(1), match.group(2)) if match and match.group(2) != "(NONE)" else None


def test_tls_handshakes(front_door):
    ok = s_client(front_door, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256")
    assert ok.returncode == 0 and negotiated(ok) == ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"), ok.stdout + ok.stderr
    tls13 = s_client(front_door, "-tls1_3")
    assert tls13.returncode == 0 and negotiated(tls13) and negotiated(tls13)[0] == "TLSv1.3", tls13.stdout + tls13.stderr
    # CBC without forward secrecy, CBC with it, DHE: refused.
    for suite in ("AES256-SHA", "ECDHE-RSA-AES128-SHA256", "DHE-RSA-AES128-GCM-SHA256"):
        refused = s_client(front_door, "-tls1_2", "-cipher", suite + ":@SECLEVEL=0")
        assert refused.returncode != 0 and negotiated(refused) is None, (suite, refused.stdout + refused.stderr)
    for old in ("-tls1", "-tls1_1"):
        refused = s_client(front_door, old, "-cipher", "DEFAULT:@SECLEVEL=0")
        assert refused.returncode != 0 and negotiated(refused) is None, (old, refused.stdout + refused.stderr)


def test_idle_connections_do_not_starve_another_client(front_door):
    idle = []
    try:
        # 2,000 connections from 127.0.0.1 that begin a TLS handshake (a record header announcing a ClientHello) and
        # then say nothing. Connections that have said nothing at all nginx would close first when it runs short of
        # slots; these hold theirs until client_header_timeout, so only enough slots keep another client served.
        for _ in range(IDLE_CONNECTIONS):
            sock = socket.create_connection(("127.0.0.1", front_door["https"]), timeout=5)
            idle.append(sock)
            sock.sendall(STALLED_HELLO)
            sock.setblocking(False)
        opened = time.monotonic()
        time.sleep(1)
        # Another client, from another address, is served at once.
        start = time.monotonic()
        conn = Connection(front_door, source="127.0.0.2", timeout=15)
        try:
            status = status_of(conn, "GET", "/")
        except (OSError, http.client.HTTPException) as err:
            pytest.fail("the other client was not served beside %d idle connections: %r\n%s"
                        % (IDLE_CONNECTIONS, err, error_log(front_door)))
        finally:
            conn.close()
        served_in = time.monotonic() - start
        print("another client served in %.3f s beside %d idle connections" % (served_in, IDLE_CONNECTIONS))
        assert status == 200 and served_in < 2, (status, served_in, error_log(front_door))
        # client_header_timeout (10 s) gives every idle connection back, reset (reset_timedout_connection).
        open_ones = list(idle)
        while open_ones and time.monotonic() < opened + 16:
            time.sleep(0.5)
            still = []
            for sock in open_ones:
                try:
                    if sock.recv(1) == b"":
                        continue
                except BlockingIOError:
                    still.append(sock)
                except OSError:
                    continue
            open_ones = still
        closed_after = time.monotonic() - opened
        print("the front door closed all %d idle connections %.1f s after they opened"
              % (IDLE_CONNECTIONS - len(open_ones), closed_after))
        assert not open_ones, "%d idle connections still open %.0f s later" % (len(open_ones), closed_after)
        assert closed_after > 9, closed_after
    finally:
        for sock in idle:
            sock.close()


def test_sign_in_bursts_get_429_and_normal_requests_pass(front_door):
    burst = load(ROLE / "defaults" / "main.yml")["front_door_limit_req_signin_burst"]
    tries = burst + 20
    body = '{"email":"admin@lab.example","password":"guess"}'
    for source, path in (("127.0.0.3", "/api/auth/sign-in/email"), ("127.0.0.4", "/api/v1/auths/signin")):
        conn = Connection(front_door, source=source)
        try:
            statuses = [status_of(conn, "POST", path, body=body) for _ in range(tries)]
            print("%s POST %s x%d: %d passed, %d answered 429"
                  % (source, path, tries, statuses.count(200), statuses.count(429)))
            # The burst, and the first request, pass; the rest are refused (10r/m adds none in so short a time).
            assert statuses[:burst + 1] == [200] * (burst + 1), statuses
            assert statuses.count(429) >= tries - burst - 2 and set(statuses) == {200, 429}, statuses
            # The same address still reads its session and pages, and signs in at neither UI's path.
            reads = [status_of(conn, "GET", p) for p in ("/api/auth/get-session", "/api/v1/auths/", "/", "/x.js") * 10]
            assert reads == [200] * len(reads), reads
            assert status_of(conn, "POST", "/api/auth/sign-up/email", body=body) == 429
            assert status_of(conn, "POST", "/api/v1/auths/signup", body=body) == 429
            # Other POSTs are not sign-ins.
            assert status_of(conn, "POST", "/webapi/chat/ollama", body=body) == 200
        finally:
            conn.close()


def test_a_page_load_passes_and_a_flood_gets_429(front_door):
    burst = load(ROLE / "defaults" / "main.yml")["front_door_limit_req_burst"]

    def page_part(count):
        conn = Connection(front_door, source="127.0.0.5")
        try:
            return [status_of(conn, "GET", "/asset/%d.js" % i) for i in range(count)]
        finally:
            conn.close()

    # A page load: 300 assets over six connections, as a browser fetches them.
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        statuses = sum(pool.map(page_part, [50] * 6), [])
    assert statuses == [200] * 300, statuses
    # A flood from one address: the burst and the rate pass, the rest get 429.
    conn = Connection(front_door, source="127.0.0.6")
    try:
        flood = [status_of(conn, "GET", "/") for _ in range(burst + 400)]
    finally:
        conn.close()
    print("flood of %d GETs from one address: %d passed, %d answered 429" % (len(flood), flood.count(200), flood.count(429)))
    assert flood[:burst + 1] == [200] * (burst + 1) and flood.count(429) > 100, (flood.count(200), flood.count(429))


def test_requests_in_progress_are_limited_per_address(front_door):
    limit = load(ROLE / "defaults" / "main.yml")["front_door_limit_conn_per_address"]
    conns = [Connection(front_door, source="127.0.0.7", timeout=15) for _ in range(limit)]
    try:
        with concurrent.futures.ThreadPoolExecutor(limit) as pool:
            held = [pool.submit(status_of, conn, "GET", "/slow") for conn in conns]
            deadline = time.monotonic() + 10
            while Upstream.in_flight < limit and time.monotonic() < deadline:
                time.sleep(0.05)
            assert Upstream.in_flight == limit, Upstream.in_flight
            extra = Connection(front_door, source="127.0.0.7")
            other = Connection(front_door, source="127.0.0.8")
            try:
                refused = status_of(extra, "GET", "/")
                served = status_of(other, "GET", "/")
            finally:
                extra.close()
                other.close()
            print("with %d requests in progress from one address, one more got %d, another address's %d"
                  % (limit, refused, served))
            assert refused == 429 and served == 200
            assert [f.result() for f in held] == [200] * limit
    finally:
        for conn in conns:
            conn.close()


def no_answer(conn, host):
    try:
        status = status_of(conn, "GET", "/", host=host)
    except (OSError, http.client.HTTPException):
        return True
    return "answered %d" % status


def test_a_host_the_front_door_is_not_for_gets_no_answer(front_door):
    def https(sni, host):
        conn = Connection(front_door, source="127.0.0.9", sni=sni)
        try:
            return no_answer(conn, host)
        finally:
            conn.close()

    assert https(NAME, "evil.example") is True
    assert https("evil.example", "evil.example") is True
    assert https(None, "10.9.9.9") is True
    # Its own names pass, with the TLS name or without (a browser that reaches the host by its address sends none).
    for sni, host in ((NAME, NAME), (None, "127.0.0.1"), (None, "localhost:8443"), ("evil.example", NAME), (None, "[::1]")):
        conn = Connection(front_door, source="127.0.0.9", sni=sni)
        try:
            assert status_of(conn, "GET", "/", host=host) == 200, (sni, host)
        finally:
            conn.close()
    # Port 80 redirects its own names to HTTPS and answers nothing for others.
    plain = http.client.HTTPConnection("127.0.0.1", front_door["http"], timeout=10)
    try:
        assert no_answer(plain, "evil.example") is True
    finally:
        plain.close()
    plain = http.client.HTTPConnection("127.0.0.1", front_door["http"], timeout=10)
    try:
        plain.request("GET", "/some/path", headers={"Host": NAME})
        resp = plain.getresponse()
        resp.read()
        assert resp.status == 301 and resp.getheader("Location") == "https://%s/some/path" % NAME
    finally:
        plain.close()
