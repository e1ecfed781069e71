"""Request bodies (Content-Length or chunked) and Go-compatible JSON encoding."""

import json

from . import names
from .streams import ApiError


def go_json(obj):
    """json.Marshal output: compact, with <, >, & escaped as Go does."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")).encode("utf-8")


class Body:
    """Reads a request body once, whether sized or chunked."""

    def __init__(self, handler):
        self._rfile = handler.rfile
        self._chunked = "chunked" in handler.headers.get("Transfer-Encoding", "").lower()
        self._remaining = int(handler.headers.get("Content-Length") or 0)
        self._chunk_left = 0
        self._done = not self._chunked and self._remaining == 0

    def read(self, size=1 << 20):
        if self._done:
            return b""
        if not self._chunked:
            data = self._rfile.read(min(size, self._remaining))
            self._remaining -= len(data)
            if not data or self._remaining == 0:
                self._done = True
            return data
        if self._chunk_left == 0:
            line = self._rfile.readline(65537)
            self._chunk_left = int(line.split(b";")[0].strip() or b"0", 16)
            if self._chunk_left == 0:
                while self._rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                self._done = True
                return b""
        data = self._rfile.read(min(size, self._chunk_left))
        self._chunk_left -= len(data)
        if self._chunk_left == 0:
            self._rfile.readline(3)
        if not data:
            self._done = True
        return data

    def chunks(self):
        while True:
            data = self.read()
            if not data:
                return
            yield data

    def read_all(self):
        return b"".join(self.chunks())

    def drain(self):
        for _ in self.chunks():
            pass


_GO_TYPES = {str: "string", bool: "bool", int: "number", float: "number", list: "array",
             dict: "object", type(None): "null"}


def parse_json(raw, struct):
    """ShouldBindJSON: 400 'missing request body' / Go decoder texts; unknown fields ignored."""
    if not raw.strip():
        raise ApiError(400, "missing request body")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as err:
        if err.pos >= len(raw.decode("utf-8", "replace").rstrip()):
            raise ApiError(400, "unexpected EOF") from err
        char = raw.decode("utf-8", "replace")[err.pos]
        raise ApiError(400, f"invalid character {char!r} looking for beginning of value") from err
    if not isinstance(value, dict):
        raise ApiError(400, f"json: cannot unmarshal {_GO_TYPES.get(type(value), 'value')} "
                            f"into Go value of type api.{struct}")
    return value


def string_field(body, key, struct, alias=None):
    """A string field (or its deprecated alias); a wrong JSON type is Go's unmarshal error."""
    for name in (key, alias):
        if name is None or body.get(name) is None:
            continue
        value = body[name]
        if not isinstance(value, str):
            raise ApiError(400, f"json: cannot unmarshal {_GO_TYPES.get(type(value), 'value')} "
                                f"into Go struct field {struct}.{name} of type string")
        if value:
            return value
    return ""


def required_model_name(body, struct, invalid_message):
    """The request's `model` (or its alias `name`) as Ollama checks it before anything else:
    400 'model is required' when empty, 400 `invalid_message` (may use {raw}) when invalid."""
    raw = string_field(body, "model", struct, alias="name")
    if not raw:
        raise ApiError(400, "model is required")
    name = names.parse(raw)
    if not name.is_valid():
        raise ApiError(400, invalid_message.format(raw=raw))
    return raw, name
