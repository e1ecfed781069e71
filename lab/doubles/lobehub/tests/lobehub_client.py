"""A stdlib client for what a browser does with LobeHub 2.x: Better Auth e-mail sign-up/sign-in,
then a chat as the web app makes it (tRPC lambda + the SSE chat relay). Written against LobeHub's
HTTP surface, so it drives the real lobehub/lobehub image as well as the lab stand-in:

  client = LobeHub("http://lobehub:3210", origin="https://chat.example")
  client.sign_in_or_up("admin@example.com", "password", "Admin")
  answer = client.chat("qwen2.5:0.5b", "Say hello")   # rows: 1 user + 1 assistant message
"""

import http.cookies
import json
import urllib.error
import urllib.parse
import urllib.request


class HttpError(Exception):
    def __init__(self, status, body, headers):
        super().__init__(f"HTTP {status}: {body!r}")
        self.status, self.body, self.headers = status, body, headers

    def json(self):
        return json.loads(self.body)


class LobeHub:
    def __init__(self, base, origin=None, timeout=60):
        self.base = base.rstrip("/")
        self.origin = origin or self.base
        self.timeout = timeout
        self.cookies = {}

    # ---- plumbing ---------------------------------------------------------------------------
    def _store(self, headers):
        for value in headers.get_all("Set-Cookie") or []:
            jar = http.cookies.SimpleCookie()
            jar.load(value.split(";", 1)[0])
            for name, morsel in jar.items():
                max_age = value.lower().split("max-age=")[1].split(";")[0] \
                    if "max-age=" in value.lower() else None
                if morsel.value == "" or max_age == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def request(self, method, path, body=None, headers=None, stream=False):
        hdrs = {"Accept": "application/json", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if method != "GET":
            hdrs.setdefault("Origin", self.origin)
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=hdrs)
        try:
            resp = urllib.request.urlopen(req, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            raise HttpError(exc.code, exc.read().decode("utf-8", "replace"), exc.headers) from None
        self._store(resp.headers)
        if stream:
            return resp
        with resp:
            text = resp.read().decode()
        return json.loads(text) if text else None

    def trpc_query(self, procedure, value=None):
        query = urllib.parse.urlencode({"input": json.dumps({"json": value})})
        return self.request("GET", f"/trpc/lambda/{procedure}?{query}")["result"]["data"]["json"]

    def trpc_mutation(self, procedure, value):
        return self.request("POST", f"/trpc/lambda/{procedure}",
                            {"json": value})["result"]["data"]["json"]

    # ---- Better Auth ------------------------------------------------------------------------
    def sign_up(self, email, password, name):
        return self.request("POST", "/api/auth/sign-up/email",
                            {"email": email, "password": password, "name": name})

    def sign_in(self, email, password):
        return self.request("POST", "/api/auth/sign-in/email",
                            {"email": email, "password": password, "rememberMe": True})

    def sign_in_or_up(self, email, password, name):
        """The role's idempotent first-admin step: sign in; sign up only when that fails."""
        try:
            return self.sign_in(email, password)
        except HttpError as err:
            if err.status != 401:
                raise
        return self.sign_up(email, password, name)

    def session(self):
        return self.request("GET", "/api/auth/get-session")

    def sign_out(self):
        return self.request("POST", "/api/auth/sign-out", {})

    # ---- chat -------------------------------------------------------------------------------
    def models(self):
        config = self.trpc_query("config.getGlobalConfig")
        return config["serverConfig"]["aiProvider"]["ollama"]

    def stream(self, model, messages):
        """POST /webapi/chat/ollama; returns [(event, data), ...] of the SSE answer."""
        resp = self.request("POST", "/webapi/chat/ollama",
                            {"model": model, "messages": messages, "stream": True}, stream=True)
        events, event = [], {}
        with resp:
            for raw in resp:
                line = raw.decode().rstrip("\n")
                if not line:
                    if event:
                        events.append((event.get("event"), json.loads(event.get("data", "null"))))
                    event = {}
                    continue
                key, _, value = line.partition(": ")
                event[key] = value
        return events

    def chat(self, model, text, topic_id=None, title="Lab chat"):
        """What the web app does for one turn: rows first, then the stream, then the answer."""
        agent = self.trpc_query("agent.getBuiltinAgent", {"slug": "inbox"})
        sent = self.trpc_mutation("aiChat.sendMessageInServer", {
            "agentId": agent["id"],
            **({"topicId": topic_id} if topic_id else {"newTopic": {"title": title}}),
            "newUserMessage": {"content": text},
            "newAssistantMessage": {"model": model, "provider": "ollama"}})
        history = [{"role": m["role"], "content": m["content"]} for m in sent["messages"]
                   if m["id"] != sent["assistantMessageId"]]
        events = self.stream(model, history)
        answer = "".join(data for kind, data in events if kind == "text")
        errors = [data for kind, data in events if kind == "error"]
        self.trpc_mutation("message.update", {
            "id": sent["assistantMessageId"], "agentId": agent["id"], "topicId": sent["topicId"],
            "value": {"content": answer} if not errors else {"error": errors[0]}})
        return {"answer": answer, "events": events, "topicId": sent["topicId"],
                "userMessageId": sent["userMessageId"],
                "assistantMessageId": sent["assistantMessageId"]}
