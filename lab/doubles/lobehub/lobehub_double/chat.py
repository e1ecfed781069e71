"""POST /webapi/chat/[provider] for provider ollama: the server-side relay LobeHub uses when
OLLAMA_PROXY_URL is set (fetchOnClient false).

Sources (lobehub): src/app/(backend)/webapi/chat/[provider]/route.ts and middleware/auth
(checkAuth: a Better Auth session, or Oidc-Auth), packages/model-runtime/src/providers/ollama
(ollama-js client: POST /api/chat, stream true, temperature halved, errors -> OllamaBizError or
OllamaServiceUnavailable), core/streams/ollama.ts and protocol.ts (the SSE protocol:
`id: chat_<nanoid>`, `event: text|reasoning|stop`, `data: <JSON>`), utils/response.ts
(StreamingResponse headers), src/utils/errorResponse.ts (status numbers, X-Auth-Required).
"""

import json
import re
import urllib.error
import urllib.request

from . import util

DEFAULT_OLLAMA = "http://127.0.0.1:11434"  # ollama-js default host when OLLAMA_PROXY_URL is unset
SSE_HEADERS = [("Cache-Control", "no-cache"), ("Content-Type", "text/event-stream"),
               ("X-Accel-Buffering", "no")]
STATUS = {"Unauthorized": 401, "InvalidProviderAPIKey": 401, "OllamaBizError": 472,
          "OllamaServiceUnavailable": 472, "ProviderBizError": 471, "InternalServerError": 500}
THINK = re.compile(r"</?think>")


def error_response(error_type, body):
    """createErrorResponse: {"body": ..., "errorType": ...} with LobeHub's status numbers."""
    headers = [("Content-Type", "application/json")]
    if error_type == "Unauthorized":
        headers.append(("X-Auth-Required", "true"))
    return STATUS.get(error_type, 500), headers, util.dumps({"body": body, "errorType": error_type})


def _ollama_message(message):
    """convertContentToOllamaMessage: string content as is; parts -> last text + base64 images."""
    content = message.get("content")
    if isinstance(content, str) or content is None:
        return {"content": content or "", "role": message.get("role")}
    out = {"content": "", "role": message.get("role")}
    images = []
    for part in content:
        if part.get("type") == "text":
            out["content"] = part.get("text", "")
        elif part.get("type") == "image_url":
            url = (part.get("image_url") or {}).get("url", "")
            if url.startswith("data:") and ";base64," in url:
                images.append(url.split(";base64,", 1)[1])
    if images:
        out["images"] = images
    return out


def ollama_request(payload):
    options = {}
    if payload.get("temperature") is not None:
        options["temperature"] = payload["temperature"] / 2
    for key in ("top_p", "frequency_penalty", "presence_penalty"):
        if payload.get(key) is not None:
            options[key] = payload[key]
    body = {"messages": [_ollama_message(m) for m in payload.get("messages") or []],
            "model": payload.get("model"), "options": options, "stream": True}
    if payload.get("tools"):
        body["tools"] = payload["tools"]
    return body


def _sse(stream_id, kind, data):
    data = json.dumps(data, ensure_ascii=False)
    return f"id: {stream_id}\nevent: {kind}\ndata: {data}\n\n".encode()


def relay(settings, payload):
    """Returns (status, headers, body) where body is bytes or an iterator of bytes (SSE)."""
    base = settings.ollama_proxy_url or DEFAULT_OLLAMA
    data = json.dumps(ollama_request(payload)).encode()
    req = urllib.request.Request(base + "/api/chat", data=data, method="POST",
                                 headers={"Content-Type": "application/json",
                                          "Accept": "application/x-ndjson"})
    try:
        resp = urllib.request.urlopen(req, timeout=settings.chat_timeout)
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace")
        try:
            message = json.loads(text).get("error") or text
        except ValueError:
            message = text
        return error_response("OllamaBizError", {
            "error": {"message": str(message), "name": "ResponseError", "status_code": exc.code},
            "provider": "ollama"})
    except (urllib.error.URLError, OSError):
        try:  # a failed fetch: is Ollama there at all? (providers/ollama: client.list())
            urllib.request.urlopen(base + "/api/tags", timeout=10).close()
        except (urllib.error.URLError, OSError):
            return error_response("OllamaServiceUnavailable", {
                "error": {"message": "please check whether your ollama service is available"},
                "provider": "ollama"})
        return error_response("ProviderNetworkError", {
            "error": {"message": "fetch failed", "name": "TypeError"}, "provider": "ollama"})
    return 200, SSE_HEADERS, _events(resp)


def _events(resp):
    """core/streams/ollama.ts transformOllamaStream (without the textual tool-call parsing)."""
    stream_id = "chat_" + util.nanoid(16)
    thinking_in_content = False
    with resp:
        for line in resp:
            line = line.strip()
            if not line:
                continue
            try:
                chunk = json.loads(line)
            except ValueError:
                continue
            if chunk.get("error"):
                yield _sse(stream_id, "error", {"message": chunk["error"], "name": "ResponseError"})
                return
            message = chunk.get("message") or {}
            if message.get("thinking"):
                yield _sse(stream_id, "reasoning", message["thinking"])
                continue
            if message.get("tool_calls"):
                yield _sse(stream_id, "tool_calls", [
                    {"function": {"arguments": json.dumps((c.get("function") or {})
                                                          .get("arguments") or {}),
                                  "name": (c.get("function") or {}).get("name")},
                     "id": f"{(c.get('function') or {}).get('name')}_{i}_{util.nanoid(8)}",
                     "index": i, "type": "function"}
                    for i, c in enumerate(message["tool_calls"])])
                continue
            content = message.get("content") or ""
            if "<think>" in content:
                thinking_in_content = True
            elif "</think>" in content:
                thinking_in_content = False
            cleaned = THINK.sub("", content)
            kind = "reasoning" if thinking_in_content else "text"
            if chunk.get("done"):
                if cleaned:
                    yield _sse(stream_id, kind, cleaned)
                yield _sse(stream_id, "stop", "finished")
                return
            yield _sse(stream_id, kind, cleaned)


def list_models(settings):
    """GET /webapi/models/ollama: LobeOllamaAI.models() over Ollama's /api/tags."""
    base = settings.ollama_proxy_url or DEFAULT_OLLAMA
    try:
        with urllib.request.urlopen(base + "/api/tags", timeout=30) as resp:
            models = json.load(resp).get("models") or []
    except (urllib.error.URLError, OSError, ValueError):
        return error_response("OllamaServiceUnavailable", {
            "error": {"message": "please check whether your ollama service is available"},
            "provider": "ollama"})
    # contextWindowTokens and displayName are undefined for models model-bank does not know,
    # so JSON leaves them out.
    cards = [{"enabled": False, "functionCall": False, "id": m.get("name"), "reasoning": False,
              "vision": False} for m in models]
    return 200, [("Content-Type", "application/json")], util.dumps(cards)


def pull(settings, payload):
    """POST /webapi/models/ollama/pull (signed in only): LobeOllamaAI.pullModel relays Ollama's
    pull progress as JSON lines {completed, digest, model, status, total}."""
    base = settings.ollama_proxy_url or DEFAULT_OLLAMA
    model = payload.get("model")
    req = urllib.request.Request(base + "/api/pull", method="POST", data=json.dumps(
        {"insecure": bool(payload.get("insecure")), "model": model, "stream": True}).encode(),
        headers={"Content-Type": "application/json"})
    try:
        resp = urllib.request.urlopen(req, timeout=settings.chat_timeout)
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace")
        return 500, [("Content-Type", "application/json")], util.dumps(
            {"error": text, "model": model, "status": "error"})
    except (urllib.error.URLError, OSError):
        return error_response("OllamaServiceUnavailable", {
            "message": "please check whether your ollama service is available",
            "provider": "ollama"})

    def lines():
        with resp:
            for line in resp:
                try:
                    item = json.loads(line)
                except ValueError:
                    continue
                out = {"completed": item.get("completed"), "digest": item.get("digest"),
                       "model": model, "status": item.get("status") or item.get("error"),
                       "total": item.get("total")}
                yield util.dumps({k: v for k, v in out.items() if v is not None}) + b"\n"
    return 200, [("Content-Type", "application/json")], lines()
