"""Handlers that move models: /api/pull, /api/push, /api/create."""

from . import create as create_model
from . import names
from . import pull as pull_model
from . import push as push_model
from .httpio import parse_json, required_model_name, string_field
from .streams import ApiError, Stream, StreamError


def _wants_stream(body):
    return body.get("stream") is not False  # absent or null means stream, as in Ollama


def pull(state, request, path):
    body = parse_json(request.body.read_all(), "PullRequest")
    raw = string_field(body, "model", "PullRequest", alias="name")
    name = names.parse(raw)
    if not raw or not name.is_valid():
        raise ApiError(400, "invalid model name")
    name = state.store.canonical(name)
    return Stream(pull_model.pull(state.store, name, bool(body.get("insecure"))), _wants_stream(body))


def push(state, request, path):
    body = parse_json(request.body.read_all(), "PushRequest")
    _, name = required_model_name(body, "PushRequest", "invalid model name")
    name = state.store.canonical(name)
    return Stream(push_model.push(state.store, name, bool(body.get("insecure"))), _wants_stream(body))


def create(state, request, path):
    body = parse_json(request.body.read_all(), "CreateRequest")
    raw = string_field(body, "model", "CreateRequest", alias="name")
    string_field(body, "from", "CreateRequest")
    name = names.parse(raw)
    if not raw or not name.is_valid():
        raise ApiError(400, "invalid model name")
    try:
        create_model.check_files(body.get("files"))
    except StreamError as err:
        raise ApiError(err.status, err.message) from err
    name = state.store.canonical(name)
    return Stream(create_model.create(state.store, name, body), _wants_stream(body))
