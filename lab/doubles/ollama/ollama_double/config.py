"""The environment the server honours, read once at start like envconfig/config.go."""

import os
import urllib.parse

from . import gotime

DEFAULT_PORT = 11434


def _var(name):
    return os.environ.get(name, "").strip().strip("'\"")


def host():
    """OLLAMA_HOST -> (scheme, host, port): '0.0.0.0', ':11434', 'h:p', 'http(s)://h[:p][/path]'."""
    raw = _var("OLLAMA_HOST")
    scheme, _, rest = raw.partition("://") if "://" in raw else ("http", "", raw)
    default_port = {"http": 80, "https": 443}.get(scheme, DEFAULT_PORT) if "://" in raw else DEFAULT_PORT
    hostport = rest.split("/", 1)[0]
    parsed = urllib.parse.urlsplit("//" + hostport)
    hostname = parsed.hostname if parsed.hostname is not None else ""
    if not raw:
        hostname = "127.0.0.1"
    port = parsed.port or default_port
    return scheme, hostname, port


def connectable_host():
    """The address a client uses: 0.0.0.0 and an empty host mean this machine."""
    scheme, hostname, port = host()
    if hostname in ("", "0.0.0.0", "::"):
        hostname = "127.0.0.1"
    if ":" in hostname:
        hostname = f"[{hostname}]"
    return f"{scheme}://{hostname}:{port}"


def allowed_origins():
    origins = [part.strip() for part in _var("OLLAMA_ORIGINS").split(",") if part.strip()]
    for local in ("localhost", "127.0.0.1", "0.0.0.0"):
        origins += [f"http://{local}", f"https://{local}", f"http://{local}:*", f"https://{local}:*"]
    origins += ["app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*"]
    return origins


def models_dir():
    return _var("OLLAMA_MODELS") or os.path.join(os.path.expanduser("~"), ".ollama", "models")


def keep_alive_ns():
    raw = _var("OLLAMA_KEEP_ALIVE")
    if not raw:
        return 5 * 60 * 1_000_000_000
    try:
        return gotime.keep_alive_ns(raw, None)
    except ValueError:
        return 5 * 60 * 1_000_000_000


def _int(name, default):
    try:
        return int(_var(name))
    except ValueError:
        return default


def max_queue():
    return _int("OLLAMA_MAX_QUEUE", 512)


def num_parallel():
    return max(1, _int("OLLAMA_NUM_PARALLEL", 1))


def context_length():
    return _int("OLLAMA_CONTEXT_LENGTH", 0) or 4096


def noprune():
    """envconfig.Bool: empty is false; strconv.ParseBool's words; anything else is TRUE."""
    raw = _var("OLLAMA_NOPRUNE")
    if raw in ("", "0", "f", "F", "false", "FALSE", "False"):
        return False
    return True


def version():
    return _var("OLLAMA_DOUBLE_VERSION") or "0.0.0"


def upstream():
    """Where unqualified (registry.ollama.ai) names are fetched from, in the lab."""
    return (_var("OLLAMA_DOUBLE_UPSTREAM") or "https://registry.ollama.ai").rstrip("/")


def token_delay():
    """Seconds between streamed tokens, so streams are observable and queues can fill."""
    try:
        return float(_var("OLLAMA_DOUBLE_TOKEN_DELAY") or 0.01)
    except ValueError:
        return 0.01


def load_seconds_per_gb():
    """Seconds a model takes to load per GB (10**9 bytes) of its files: real Ollama sends
    nothing for generate/chat until the model is in memory. Small by default for fast suites."""
    try:
        return max(0.0, float(_var("OLLAMA_DOUBLE_LOAD_SECONDS_PER_GB") or 0.5))
    except ValueError:
        return 0.5
