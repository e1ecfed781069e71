"""Ollama's route table (server/routes.go GenerateRoutes)."""

from . import api_inference, api_models, api_transfer

EXACT = {
    "/": {"GET": api_models.root, "HEAD": api_models.root},
    "/api/version": {"GET": api_models.version, "HEAD": api_models.version},
    "/api/tags": {"GET": api_models.tags, "HEAD": api_models.tags},
    "/api/show": {"POST": api_models.show},
    "/api/delete": {"DELETE": api_models.delete},
    "/api/copy": {"POST": api_models.copy},
    "/api/pull": {"POST": api_transfer.pull},
    "/api/push": {"POST": api_transfer.push},
    "/api/create": {"POST": api_transfer.create},
    "/api/ps": {"GET": api_inference.ps},
    "/api/generate": {"POST": api_inference.generate},
    "/api/chat": {"POST": api_inference.chat},
    "/api/embed": {"POST": api_inference.embed},
    "/api/embeddings": {"POST": api_inference.embeddings},
    "/v1/models": {"GET": api_models.v1_models},
}
PREFIXED = {
    "/api/blobs/": {"HEAD": api_models.blob_head, "POST": api_models.blob_upload},
    "/v1/models/": {"GET": api_models.v1_model},
}


def _methods(path):
    if path in EXACT:
        return EXACT[path]
    for prefix, methods in PREFIXED.items():
        if path.startswith(prefix) and len(path) > len(prefix) and "/" not in path[len(prefix):]:
            return methods
    return None


def lookup(method, path):
    return (_methods(path) or {}).get(method)


def path_known(path):
    return _methods(path) is not None
