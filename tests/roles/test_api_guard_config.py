"""The API guard's nginx configuration (roles/api_guard/templates/nginx.conf.j2), rendered with Jinja2 from the
role's defaults and vars: it allows exactly the method and path pairs a chat UI needs (issue 11), refuses
everything else with 403 and a JSON error, streams, and sends only the normalised, allowed path upstream."""

import pathlib
import re

import jinja2
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "api_guard"

# What LobeChat and Open WebUI call on Ollama to chat, list and describe models (docs/api-guard.md).
EXPECTED = {
    ("GET", "/"), ("HEAD", "/"),
    ("GET", "/api/version"), ("GET", "/api/tags"), ("GET", "/api/ps"),
    ("POST", "/api/show"), ("POST", "/api/chat"), ("POST", "/api/generate"),
    ("POST", "/api/embed"), ("POST", "/api/embeddings"),
    ("POST", "/v1/chat/completions"), ("POST", "/v1/completions"), ("POST", "/v1/embeddings"),
    ("GET", "/v1/models"),
}
# Model management, and the allowed paths with another method: never allowed.
REFUSED = [
    ("POST", "/api/pull"), ("POST", "/api/push"), ("POST", "/api/create"), ("DELETE", "/api/delete"),
    ("POST", "/api/copy"), ("POST", "/api/blobs/sha256:" + "0" * 64), ("HEAD", "/api/blobs/sha256:" + "0" * 64),
    ("GET", "/api/pull"), ("POST", "/api/tags"), ("DELETE", "/api/chat"), ("GET", "/api/chat"), ("PUT", "/api/chat"),
    ("OPTIONS", "/api/chat"), ("POST", "/"), ("GET", "/v1/models/qwen2.5:0.5b"), ("GET", "/api/tags/"),
    ("POST", "/API/CHAT"), ("GET", "/Api/Tags"), ("POST", "/api/chat\n"), ("POST", "/api/chatx"), ("POST", "/x/api/chat"),
]


def load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def render(**overrides):
    context = dict(load(ROLE / "defaults" / "main.yml"))
    # The role's static vars (the route list); those made of Jinja expressions are set here as Ansible would.
    context.update({k: v for k, v in load(ROLE / "vars" / "main.yml").items() if not (isinstance(v, str) and "{{" in v)})
    context.update(ansible_managed="Ansible managed", __api_guard_resolver="127.0.0.11",
                   __api_guard_upstream=context["api_guard_ollama_url"].rstrip("/"))
    context.update(overrides)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True, keep_trailing_newline=True)
    return env.from_string((ROLE / "templates" / "nginx.conf.j2").read_text(encoding="utf-8")).render(**context)


def allow_map(conf):
    """The entries of the `map "$request_method $uri" $api_guard_path` block: {key: path sent to Ollama}."""
    block = re.search(r'map "\$request_method \$uri" \$api_guard_path \{(.*?)\n    \}', conf, re.S)
    assert block, conf
    entries = re.findall(r'^\s*(default|"[^"]*")\s+(\S+);\s*$', block.group(1), re.M)
    assert len(entries) == len([ln for ln in block.group(1).splitlines() if ln.strip()]), block.group(1)
    return {key.strip('"'): value for key, value in entries}


def upstream_path(conf, method, path):
    """What nginx's map gives for this request: the path Ollama gets, or "" (refused). Its keys are PCRE regular
    expressions (case-sensitive, \\z the very end), tried in order."""
    for key, value in allow_map(conf).items():
        if key == "default":
            continue
        assert key.startswith("~^") and key.endswith("\\z"), key
        if re.match(key[1:-2] + "\\Z", "%s %s" % (method, path)):
            return value
    return allow_map(conf)["default"].strip('"')


def allowed(conf, method, path):
    return upstream_path(conf, method, path) != ""


def test_the_rendered_config_allows_exactly_the_listed_pairs():
    table = allow_map(render())
    assert table.pop("default") == '""'
    pairs = set()
    for key, value in table.items():
        method, path = re.fullmatch(r"~\^([A-Z]+) (/[a-z0-9/_]*)\\z", key).groups()
        # Ollama gets the listed path itself, not the client's spelling of it.
        assert value == path, key
        pairs.add((method, path))
    assert pairs == EXPECTED
    assert len(table) == len(EXPECTED)
    for method, path in EXPECTED:
        assert upstream_path(render(), method, path) == path


def test_the_role_lists_the_same_routes():
    routes = load(ROLE / "vars" / "main.yml")["__api_guard_routes"]
    assert {(r["method"], r["path"]) for r in routes} == EXPECTED
    # The template writes them into regular expressions unescaped: no character with a meaning there.
    for route in routes:
        assert re.fullmatch(r"[A-Z]+", route["method"]) and re.fullmatch(r"/[a-z0-9/_]*", route["path"]), route
    assert len(routes) == len(EXPECTED)


@pytest.mark.parametrize("method,path", REFUSED, ids=["%s %s" % p for p in REFUSED])
def test_model_management_and_other_methods_are_refused(method, path):
    assert not allowed(render(), method, path)


def test_everything_not_allowed_gets_403_with_a_json_error():
    conf = render()
    refusal = re.search(r"if \(\$api_guard_path = \"\"\) \{\s*return 403 '([^']*)';\s*\}", conf)
    assert refusal, conf
    assert refusal.group(1) == '{"error":"refused by the llmops.ollama API guard: $request_method $api_guard_shown_path"}\\n'
    # The refusal is decided in the server block, before any location: no location can bypass it.
    server = conf[conf.index("    server {"):]
    assert server.index('if ($api_guard_path = "")') < server.index("location")
    assert "error_page 413 @api_guard_too_large;" in conf and "error_page 502 503 504 @api_guard_no_ollama;" in conf
    # One location for what passes; the others are named (error pages), which no request path reaches.
    assert re.findall(r"^\s*location (\S+)", conf, re.M) == ["/", "@api_guard_too_large", "@api_guard_no_ollama"]
    assert "default_type application/json;" in conf and "types { }" in conf


def test_the_echoed_path_cannot_break_the_json():
    conf = render()
    pattern = re.search(r'map \$uri \$api_guard_shown_path \{\s*"~([^"]+)" \$uri;\s*default "([^"]*)";', conf)
    assert pattern, conf
    # PCRE's \z (the very end, no newline before it) is Python's \Z.
    assert pattern.group(1).endswith("\\z"), pattern.group(1)
    regex = re.compile(pattern.group(1)[:-2] + "\\Z")
    assert regex.match("/api/blobs/sha256:" + "a" * 64)
    for bad in ['/api/"x', "/api/x\\", "/api/x y", "/a\n", "/" + "a" * 300]:
        assert not regex.match(bad), bad


def test_only_the_allowed_normalised_path_goes_to_ollama_and_answers_stream():
    conf = render(api_guard_read_timeout=900, api_guard_max_body_size="64m")
    assert "listen 11434 default_server;" in conf
    assert "set $api_guard_upstream http://ollama:11434;" in conf
    assert "proxy_pass $api_guard_upstream$api_guard_path$is_args$args;" in conf
    for line in ("proxy_buffering off;", "proxy_request_buffering off;", "proxy_read_timeout 900s;",
                 "proxy_send_timeout 900s;", "client_max_body_size 64m;", "proxy_http_version 1.1;"):
        assert line in conf, line


def test_the_upstream_follows_the_ollama_url():
    conf = render(api_guard_ollama_url="http://my-ollama:11500/", __api_guard_upstream="http://my-ollama:11500")
    assert "set $api_guard_upstream http://my-ollama:11500;" in conf


def test_nginx_writes_only_under_tmp():
    conf = render()
    for directive in ("pid", "client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path", "uwsgi_temp_path",
                      "scgi_temp_path"):
        value = re.search(r"^\s*%s (\S+);" % directive, conf, re.M)
        assert value and value.group(1).startswith("/tmp/"), directive
