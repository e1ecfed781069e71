# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""lobehub_user against a small Better Auth stand-in on 127.0.0.1: sign in first, sign up only on 401, every session
closed again with the Origin header, a 429 waited out, an account with another password left alone with a warning,
nothing sent in check mode, and the password in no result or message. The engine's commands (container inspect, psql)
are faked."""

from __future__ import annotations

import http.server
import json
import threading
from unittest import mock

import pytest

from ansible_collections.llmops.ollama.plugins.modules import lobehub_user
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module

PASSWORD = "the-admins-password-42"


class BetterAuth(http.server.BaseHTTPRequestHandler):
    users = {}
    roles = {}
    calls = []
    limited = 0

    def log_message(self, *args):
        pass

    def answer(self, status, body, cookie=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if cookie:
            self.send_header("Set-Cookie", "better-auth.session_token=%s; Path=/; HttpOnly" % cookie)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        type(self).calls.append((self.path, self.headers.get("Origin"), self.headers.get("Cookie")))
        if type(self).limited:
            type(self).limited -= 1
            return self.answer(429, {"message": "Too many requests. Please try again later."})
        if self.path == "/api/auth/sign-in/email":
            if type(self).users.get(body["email"]) == body["password"]:
                user = {"email": body["email"]}
                if body["email"] in type(self).roles:  # Better Auth's admin plugin returns the role
                    user["role"] = type(self).roles[body["email"]]
                return self.answer(200, {"token": "t1", "user": user}, cookie="t1.sig")
            return self.answer(401, {"code": "INVALID_EMAIL_OR_PASSWORD", "message": "Invalid email or password"})
        if self.path == "/api/auth/sign-up/email":
            if body["email"] in type(self).users:
                return self.answer(422, {"code": "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"})
            if not body["email"].endswith("@lab.example"):
                return self.answer(422, {"code": "FAILED_TO_CREATE_USER"})
            type(self).users[body["email"]] = body["password"]
            return self.answer(200, {"token": "t2", "user": {"email": body["email"]}}, cookie="t2.sig")
        if self.path == "/api/auth/sign-out":
            if self.headers.get("Origin") != "https://chat.lab.example" or not self.headers.get("Cookie"):
                return self.answer(403, {"code": "INVALID_ORIGIN"})
            return self.answer(200, {"success": True})
        return self.answer(404, {})


@pytest.fixture
def server():
    BetterAuth.users, BetterAuth.roles, BetterAuth.calls, BetterAuth.limited = {}, {}, [], 0
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BetterAuth)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()


def fake_engine(port, role=None, running=True):
    """run_command for `docker container inspect` (the container's address) and psql (users.role)."""
    state = {"role": role, "sql": []}

    def run_command(self, argv, data=None, binary_data=False, **kwargs):
        if argv[1:3] == ["container", "inspect"]:
            return 0, json.dumps([{"State": {"Running": running},
                                   "NetworkSettings": {"Networks": {"llmops-ui": {"IPAddress": "127.0.0.1"}}}}]), ""
        if "psql" in argv:
            state["sql"].append((data, [a for a in argv if a.startswith(("email=", "role="))]))
            if data.startswith("SELECT"):
                return 0, ("%s.\n" % state["role"]) if state["role"] is not None else "", ""
            if state["role"] != "admin":
                state["role"] = "admin"
                return 0, "user_1\n", ""
            return 0, "", ""
        return 1, "", "unexpected %r" % argv
    return state, run_command


def ensure(port, check_mode=False, role=None, **args):
    state, run_command = fake_engine(port, role=role)
    params = dict(engine="docker", container="lobechat", network="llmops-ui", port=port,
                  origin="https://chat.lab.example", email="admin@lab.example", password=PASSWORD, name="Admin",
                  role="admin", database_container="lobechat-postgres")
    params.update(args)
    with mock.patch.object(lobehub_user.AnsibleModule, "run_command", run_command), \
            mock.patch.object(lobehub_user.AnsibleModule, "get_bin_path", lambda self, name, **kw: "/usr/bin/" + name), \
            mock.patch.object(lobehub_user, "RATE_LIMIT_WAIT", 0):
        result = run_module(lobehub_user, params, check_mode=check_mode)
    return result, state


def paths():
    return [call[0] for call in BetterAuth.calls]


def test_signs_up_once_then_only_signs_in(server):
    first, state = ensure(server)
    assert first["changed"] is True and first["created"] is True and first["role_set"] is True
    assert paths() == ["/api/auth/sign-in/email", "/api/auth/sign-up/email", "/api/auth/sign-out"]
    assert BetterAuth.users == {"admin@lab.example": PASSWORD}
    BetterAuth.calls.clear()
    again, state = ensure(server, role="admin")
    assert again["changed"] is False and again["created"] is False and again["signed_in"] is True
    assert paths() == ["/api/auth/sign-in/email", "/api/auth/sign-out"]
    # Every request says where it comes from; the sign-out carries the session cookie the sign-in set.
    assert {call[1] for call in BetterAuth.calls} == {"https://chat.lab.example"}
    assert BetterAuth.calls[-1][2] == "better-auth.session_token=t1.sig"
    assert PASSWORD not in json.dumps(first) + json.dumps(again)


def test_an_account_it_cannot_sign_in_to_is_never_promoted_and_fails_the_task(server):
    # Someone registered the address before the operator named it admin (or changed its password in the UI).
    BetterAuth.users["admin@lab.example"] = "registered-first-00"
    result, state = ensure(server, role="user")
    assert result["failed"] is True and result["changed"] is False and result["role_set"] is False
    assert "admin@lab.example" in result["msg"] and "does not sign in" in result["msg"]
    assert "DELETE FROM users WHERE email = 'admin@lab.example'" in result["msg"]
    # Neither its role nor its password was touched: psql never ran.
    assert state["sql"] == [] and state["role"] == "user"
    assert BetterAuth.users["admin@lab.example"] == "registered-first-00"
    assert PASSWORD not in json.dumps(result)


def test_a_refused_sign_up_fails_naming_the_account_not_the_password(server):
    result, dummy = ensure(server, email="eve@elsewhere.example")
    assert result["failed"] is True and result["status"] == 422
    assert "eve@elsewhere.example" in result["msg"] and "FAILED_TO_CREATE_USER" in result["msg"]
    assert PASSWORD not in json.dumps(result)


def test_the_rate_limit_is_waited_out(server):
    BetterAuth.users["admin@lab.example"] = PASSWORD
    BetterAuth.limited = 2
    result, dummy = ensure(server, role="admin")
    assert result["signed_in"] is True and paths().count("/api/auth/sign-in/email") == 3


def test_check_mode_sends_nothing_and_reads_the_users_table(server):
    result, state = ensure(server, check_mode=True)
    assert result["changed"] is True and result["created"] is True and paths() == []
    assert state["sql"][0][0].startswith("SELECT") and state["sql"][0][1] == ["email=admin@lab.example"]
    result, dummy = ensure(server, check_mode=True, role="admin")
    assert result["changed"] is False and paths() == []


def test_a_password_better_auth_cannot_take_is_refused(server):
    result, dummy = ensure(server, password="short")
    assert result["failed"] is True and "8 to 64" in result["msg"] and paths() == []


def test_a_role_the_sign_in_answers_with_is_not_set_again(server):
    BetterAuth.users["admin@lab.example"] = PASSWORD
    BetterAuth.roles["admin@lab.example"] = "admin"
    result, state = ensure(server, role="user")
    assert result["changed"] is False and result["signed_in"] is True and result["role_set"] is False
    assert state["sql"] == []  # the database is not asked
    BetterAuth.roles["admin@lab.example"] = "user"
    result, state = ensure(server, role="user")
    assert result["changed"] is True and result["role_set"] is True
    assert [sql[0].split()[0] for sql in state["sql"]] == ["UPDATE"]
