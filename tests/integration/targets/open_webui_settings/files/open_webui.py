# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Open WebUI's auth endpoints as far as open_webui_settings uses them, on 127.0.0.1, for the integration target
(the lab's image of the real Open WebUI is for molecule; this stage runs no container).

What it keeps of Open WebUI 0.12 (routers/auths.py): sign-in answers 400 {"detail": "The email or password provided is
incorrect..."} for a wrong password and 200 with a bearer token and the role; the admin's settings
(GET/POST /api/v1/auths/admin/config) need an admin's token (401 otherwise), and POST takes them all back (422 without
a required one) and answers what it keeps; sign-up answers 403 {"detail": "You do not have permission..."} while
ENABLE_SIGNUP is false, and makes an account otherwise (with DEFAULT_USER_ROLE); an admin may delete a user.
The settings live in memory: the target changes them through this same API, as an admin in the UI would.

    python open_webui.py PORT_FILE PID_FILE ADMIN_EMAIL ADMIN_PASSWORD
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IDLE_EXIT = 300
PROHIBITED = "You do not have permission to access this resource. Please contact your administrator for assistance."
INVALID_CRED = "The email or password provided is incorrect. Please check for typos and try logging in again."
REQUIRED = ("WEBUI_URL", "ENABLE_SIGNUP", "ENABLE_API_KEYS", "DEFAULT_USER_ROLE", "JWT_EXPIRES_IN")


def main(port_file, pid_file, admin_email, admin_password):
    lock = threading.Lock()
    last_request = [time.time()]
    config = {"SHOW_ADMIN_DETAILS": True, "ADMIN_EMAIL": None, "WEBUI_URL": "", "ENABLE_LOGIN_FORM": True,
              "ENABLE_SIGNUP": False, "ENABLE_API_KEYS": False, "DEFAULT_USER_ROLE": "pending", "JWT_EXPIRES_IN": "4w",
              "ENABLE_MFA": False, "PENDING_USER_OVERLAY_TITLE": None}
    users = {"admin": {"email": admin_email, "password": admin_password, "role": "admin"}}
    tokens = {}

    class Handler(BaseHTTPRequestHandler):
        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def user(self):
            token = (self.headers.get("Authorization") or "").partition("Bearer ")[2]
            return users.get(tokens.get(token, ""))

        def serve(self, method):
            last_request[0] = time.time()
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null") if length else None
            with lock:
                if method == "POST" and self.path == "/api/v1/auths/signin":
                    for user_id, user in users.items():
                        if user["email"] == str(body.get("email", "")).lower() and user["password"] == body.get("password"):
                            token = secrets.token_hex(16)
                            tokens[token] = user_id
                            return self.answer(200, {"token": token, "token_type": "Bearer", "id": user_id,
                                                     "email": user["email"], "role": user["role"]})
                    return self.answer(400, {"detail": INVALID_CRED})
                if method == "POST" and self.path == "/api/v1/auths/signout":
                    tokens.pop((self.headers.get("Authorization") or "").partition("Bearer ")[2], None)
                    return self.answer(200, {"status": True})
                if method == "POST" and self.path == "/api/v1/auths/signup":
                    if not config["ENABLE_SIGNUP"]:
                        return self.answer(403, {"detail": PROHIBITED})
                    user_id = secrets.token_hex(8)
                    users[user_id] = {"email": body["email"].lower(), "password": body["password"],
                                      "role": config["DEFAULT_USER_ROLE"]}
                    return self.answer(200, {"token": "unused", "id": user_id, "email": body["email"],
                                             "role": config["DEFAULT_USER_ROLE"]})
                caller = self.user()
                if self.path == "/api/v1/auths/admin/config" or self.path.startswith("/api/v1/users/"):
                    if not caller or caller["role"] != "admin":
                        return self.answer(401, {"detail": PROHIBITED})
                if self.path == "/api/v1/auths/admin/config" and method == "GET":
                    return self.answer(200, config)
                if self.path == "/api/v1/auths/admin/config" and method == "POST":
                    missing = [key for key in REQUIRED if key not in (body or {})]
                    if missing:
                        return self.answer(422, {"detail": [{"loc": ["body", key], "msg": "Field required"}
                                                            for key in missing]})
                    config.update({key: value for key, value in body.items() if key in config})
                    return self.answer(200, dict(config, sessions_revoked=False))
                if self.path == "/api/v1/users/" and method == "GET":
                    return self.answer(200, [dict(id=k, email=v["email"], role=v["role"]) for k, v in users.items()])
                if self.path.startswith("/api/v1/users/") and method == "DELETE":
                    return self.answer(200, users.pop(self.path.rsplit("/", 1)[1], None) is not None)
            return self.answer(404, {"detail": "Not Found"})

        def do_GET(self):  # noqa: N802 (http.server's name)
            self.serve("GET")

        def do_POST(self):  # noqa: N802
            self.serve("POST")

        def do_DELETE(self):  # noqa: N802
            self.serve("DELETE")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with open(pid_file, "w", encoding="ascii") as fh:
        fh.write(str(os.getpid()))
    with open(port_file, "w", encoding="ascii") as fh:
        fh.write(str(server.server_address[1]))
    while time.time() - last_request[0] < IDLE_EXIT:
        time.sleep(1)
    server.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3].lower(), sys.argv[4])
