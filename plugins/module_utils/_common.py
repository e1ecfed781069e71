# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

"""The connection options every module shares (documented once in llmops.ollama.api)."""

from __future__ import annotations

import ipaddress
import os
import re

from ansible_collections.llmops.ollama.plugins.module_utils._ollama import OllamaClient

DEFAULT_API_URL = "http://127.0.0.1:11434"
OLLAMA_PORT = "11434"

COMMON_ARGS = {
    "api_url": {"type": "str"},
    "timeout": {"type": "int", "default": 60},
    "validate_certs": {"type": "bool", "default": True},
    "headers": {"type": "dict", "no_log": True},
}

# A conversation (ollama_generate's chat, ollama_model's custom-model messages; doc fragment llmops.ollama.messages).
MESSAGES_ARG = {"type": "list", "elements": "dict", "options": {
    "role": {"type": "str", "required": True, "choices": ["system", "user", "assistant", "tool"]},
    "content": {"type": "str", "required": True},
}}

_EXPLICIT_URL = re.compile(r"^(https?)://([^/?#\s]+)(/[^?#\s]*)?$", re.IGNORECASE)


class InvalidOption(ValueError):
    pass


def _loopback_if_unspecified(host):
    """0.0.0.0 and :: are bind addresses (the Ollama image sets OLLAMA_HOST=0.0.0.0:11434);
    a client reaches such a server on loopback."""
    bare = host.strip("[]")
    if bare == "":
        return "127.0.0.1"
    try:
        ip = ipaddress.ip_address(bare)
    except ValueError:
        return host
    if ip.is_unspecified:
        return "[::1]" if ip.version == 6 else "127.0.0.1"
    return "[%s]" % bare if ip.version == 6 else bare


def _split_host_port(hostport, default_port):
    if hostport.startswith("["):
        host, sep, port = hostport[1:].partition("]")
        port = port[1:] if port.startswith(":") else ""
        return "[%s]" % host, port or default_port
    if hostport.count(":") == 1:
        host, port = hostport.split(":")
        return host, port or default_port
    if hostport.count(":") > 1:  # a bare IPv6 address
        return "[%s]" % hostport, default_port
    return hostport, default_port


def url_from_ollama_host(value):
    """Read OLLAMA_HOST as the ollama CLI does: host, host:port, :port, or a URL; a bare host
    gets port 11434, http:// port 80 and https:// port 443."""
    value = value.strip().strip("\"'")
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest, default_port = "http", value, OLLAMA_PORT
    else:
        scheme = scheme.lower()
        if scheme not in ("http", "https"):
            raise InvalidOption("OLLAMA_HOST: %r has the scheme %r; only http and https are supported" % (value, scheme))
        default_port = "80" if scheme == "http" else "443"
    hostport, slash, path = rest.partition("/")
    if "@" in hostport:
        raise InvalidOption("OLLAMA_HOST: the value carries credentials (user:password@); they are refused there; "
                            "put them in headers (Authorization) instead")
    host, port = _split_host_port(hostport, default_port)
    if not port.isdigit() or int(port) > 65535:
        raise InvalidOption("OLLAMA_HOST: %r has the port %r, which is not a port number" % (value, port))
    url = "%s://%s:%s" % (scheme, _loopback_if_unspecified(host), port)
    return url + ("/" + path.rstrip("/") if path.strip("/") else "")


def resolve_api_url(api_url, environ=None):
    """An explicit api_url must be a full http(s) URL; OLLAMA_HOST is read like Ollama reads it."""
    environ = os.environ if environ is None else environ
    if api_url is None:
        if environ.get("OLLAMA_HOST", "").strip():
            return url_from_ollama_host(environ["OLLAMA_HOST"])
        return DEFAULT_API_URL
    if "@" in api_url.strip().partition("://")[2].partition("/")[0]:
        # the value is not quoted back: it holds a password
        raise InvalidOption("api_url: the URL carries credentials (user:password@); they are refused there, where "
                            "they would be logged and sent on; put them in headers (Authorization) instead")
    match = _EXPLICIT_URL.fullmatch(api_url.strip())
    if not match:
        if "://" in api_url:
            raise InvalidOption("api_url: %r is not an http:// or https:// URL" % api_url)
        raise InvalidOption("api_url: %r has no scheme; give a full URL such as http://%s"
                            % (api_url, api_url.strip() or "127.0.0.1:11434"))
    return api_url.strip().rstrip("/")


def client_from_params(params):
    """Build the client or raise InvalidOption; sends nothing."""
    if params["timeout"] <= 0:
        raise InvalidOption("timeout: %r must be a positive number of seconds" % params["timeout"])
    headers = params.get("headers") or {}
    for key, value in headers.items():
        if not isinstance(value, str):
            raise InvalidOption("headers: the value of %r must be a string, got %s" % (key, type(value).__name__))
    return OllamaClient(resolve_api_url(params["api_url"]), params["timeout"],
                        validate_certs=params["validate_certs"], headers=headers)


def fail_api(module, error, **facts):
    """fail_json with the message and the request facts (URL, method, HTTP status, Ollama's text)."""
    result = error.result()
    result.update(facts)
    module.fail_json(msg=error.msg, **result)
