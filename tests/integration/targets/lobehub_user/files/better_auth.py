# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""LobeHub 2.x's e-mail and password endpoints as far as lobehub_user uses them, on 127.0.0.1, for the
integration target (the lab's LobeHub stand-in needs Postgres, which this stage does not run).

What it keeps of Better Auth (docs/lobehub-2.md, "How Better Auth signs a user in"): sign-in answers 401
INVALID_EMAIL_OR_PASSWORD for an unknown address or a wrong password and 200 with the user (its role, as the
admin plugin adds it) and a session cookie; sign-up answers 422 USER_ALREADY_EXISTS for a known address and
422 FAILED_TO_CREATE_USER for one AUTH_ALLOWED_EMAILS does not let through; sign-out needs the session cookie
and a trusted Origin (403 otherwise); 3 sign-in or sign-up requests per 10 s per client, then 429. Users and
sessions live in a JSON file that the target's psql stand-in (files/docker.py) reads and writes too.

    python better_auth.py STATE_FILE PORT_FILE TRUSTED_ORIGIN ALLOWED_EMAILS
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RATE_LIMIT = (3, 10.0)
IDLE_EXIT = 300


def main(state_file, port_file, trusted_origin, allowed):
    lock = threading.Lock()
    hits = []
    last_request = [time.time()]

    def load():
        with open(state_file, encoding="utf-8") as fh:
            return json.load(fh)

    def save(state):
        with open(state_file, "w", encoding="utf-8") as fh:
            json.dump(state, fh)

    class Handler(BaseHTTPRequestHandler):
        def answer(self, status, body, cookie=None):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if cookie is not None:
                self.send_header("Set-Cookie", "better-auth.session_token=%s; Path=/; HttpOnly; SameSite=Lax" % cookie)
            self.end_headers()
            self.wfile.write(data)

        def rate_limited(self):
            now = time.time()
            hits[:] = [t for t in hits if now - t < RATE_LIMIT[1]]
            if len(hits) >= RATE_LIMIT[0]:
                return True
            hits.append(now)
            return False

        def do_POST(self):  # noqa: N802 (http.server's name)
            last_request[0] = time.time()
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            with lock:
                state = load()
                if self.path in ("/api/auth/sign-in/email", "/api/auth/sign-up/email") and self.rate_limited():
                    return self.answer(429, {"message": "Too many requests. Please try again later."})
                if self.path == "/api/auth/sign-in/email":
                    user = state["users"].get(body.get("email", "").lower())
                    if not user or user["password"] != body.get("password"):
                        return self.answer(401, {"code": "INVALID_EMAIL_OR_PASSWORD", "message": "Invalid email or password"})
                    token = secrets.token_hex(16)
                    state["sessions"][token] = user["id"]
                    save(state)
                    return self.answer(200, {"redirect": False, "token": token, "user": {
                        "id": user["id"], "email": user["email"], "name": user["name"], "role": user["role"]}}, token)
                if self.path == "/api/auth/sign-up/email":
                    email = body.get("email", "").lower()
                    if email in state["users"]:
                        return self.answer(422, {"code": "USER_ALREADY_EXISTS", "message": "User already exists"})
                    if email not in allowed and email.split("@")[-1] not in allowed:
                        return self.answer(422, {"code": "FAILED_TO_CREATE_USER", "message": "Failed to create user"})
                    user = {"id": secrets.token_hex(8), "email": email, "name": body.get("name", ""),
                            "password": body.get("password"), "role": "user"}
                    state["users"][email] = user
                    token = secrets.token_hex(16)
                    state["sessions"][token] = user["id"]
                    save(state)
                    return self.answer(200, {"token": token, "user": {"id": user["id"], "email": email}}, token)
                if self.path == "/api/auth/sign-out":
                    if self.headers.get("Origin") != trusted_origin:
                        return self.answer(403, {"code": "INVALID_ORIGIN", "message": "Invalid origin"})
                    token = (self.headers.get("Cookie") or "").partition("better-auth.session_token=")[2].split(";")[0]
                    if token not in state["sessions"]:
                        return self.answer(401, {"code": "UNAUTHORIZED"})
                    del state["sessions"][token]
                    save(state)
                    return self.answer(200, {"success": True}, "")
            return self.answer(404, {"message": "Not Found"})

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with open(port_file, "w", encoding="ascii") as fh:
        fh.write(str(server.server_address[1]))
    while time.time() - last_request[0] < IDLE_EXIT:
        time.sleep(1)
    server.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], set(sys.argv[4].lower().split(",")))
