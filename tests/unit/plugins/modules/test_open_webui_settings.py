# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""open_webui_settings against a fake Open WebUI on 127.0.0.1 that answers as Open WebUI 0.12's routers/auths.py
does: sign-in (400 with its own text for a wrong password), the admin's auth settings (GET and POST, an admin's
bearer token only), sign-up (403 while closed, an account while open), deleting a user, sign-out. Settings already
right change nothing; a sign-up re-opened in the admin panel is closed again and proven closed; check mode sends no
setting and no sign-up; a wrong password, a sign-up that stays open and a setting Open WebUI does not keep fail naming
the URL, the status and Open WebUI's text; the password is in no result."""

from __future__ import annotations

import http.server
import json
import threading
from unittest import mock

import pytest

from ansible_collections.llmops.ollama.plugins.modules import open_webui_settings
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module

ADMIN = "admin@lab.example"
PASSWORD = "the-admins-password-42"
TOKEN = "eyJ.admin.session"
PROHIBITED = "You do not have permission to access this resource. Please contact your administrator for assistance."
INVALID_CRED = "The email or password provided is incorrect. Please check for typos and try logging in again."


class FakeOpenWebUI(http.server.BaseHTTPRequestHandler):
    state = {}

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"null") if length else None

    def admin(self):
        return self.headers.get("Authorization") == "Bearer " + TOKEN

    def handle_any(self, method):
        state = type(self).state
        body = self.body()
        state["calls"].append((method, self.path, self.headers.get("Authorization") is not None))
        if method == "POST" and self.path == "/api/v1/auths/signin":
            if state.get("mfa"):
                return self.answer(200, {"next_step": "verify", "challenge_token": "c" * 32, "expires_in": 300})
            if body == {"email": ADMIN, "password": state["password"]}:
                return self.answer(200, {"token": TOKEN, "token_type": "Bearer", "id": "u-admin", "email": ADMIN,
                                         "role": state.get("role", "admin")})
            return self.answer(400, {"detail": INVALID_CRED})
        if self.path == "/api/v1/auths/admin/config":
            if not self.admin():
                return self.answer(401, {"detail": PROHIBITED})
            if method == "GET":
                return self.answer(200, state["config"])
            if method == "POST":
                state["posted"].append(body)
                if not isinstance(body.get("ENABLE_SIGNUP"), bool) or "JWT_EXPIRES_IN" not in body:
                    return self.answer(422, {"detail": [{"loc": ["body", "JWT_EXPIRES_IN"], "msg": "Field required"}]})
                for key, value in body.items():
                    if key in state["config"] and not (key == "ENABLE_SIGNUP" and state.get("ignores_signup")):
                        state["config"][key] = value
                return self.answer(200, dict(state["config"], sessions_revoked=False))
        if method == "POST" and self.path == "/api/v1/auths/signup":
            if not (state["config"]["ENABLE_SIGNUP"] or state.get("signup_stuck_open")):
                return self.answer(403, {"detail": PROHIBITED})
            user_id = "u-%d" % (len(state["users"]) + 1)
            state["users"][user_id] = body["email"]
            return self.answer(200, {"token": "eyJ.new.user", "id": user_id, "email": body["email"],
                                     "role": state["config"]["DEFAULT_USER_ROLE"]})
        if method == "DELETE" and self.path.startswith("/api/v1/users/"):
            if not self.admin():
                return self.answer(401, {"detail": PROHIBITED})
            return self.answer(200, state["users"].pop(self.path.rsplit("/", 1)[1], None) is not None)
        if method == "POST" and self.path == "/api/v1/auths/signout":
            return self.answer(200, {"status": True})
        return self.answer(404, {"detail": "Not Found"})

    def do_GET(self):  # noqa: N802
        self.handle_any("GET")

    def do_POST(self):  # noqa: N802
        self.handle_any("POST")

    def do_DELETE(self):  # noqa: N802
        self.handle_any("DELETE")


def settings(**changes):
    """The admin settings as Open WebUI 0.12 answers them (a few of its fields), closed and pending."""
    config = {"SHOW_ADMIN_DETAILS": True, "ADMIN_EMAIL": None, "WEBUI_URL": "", "ENABLE_LOGIN_FORM": True,
              "ENABLE_SIGNUP": False, "ENABLE_API_KEYS": False, "DEFAULT_USER_ROLE": "pending",
              "JWT_EXPIRES_IN": "4w", "ENABLE_MFA": False, "MFA_ALLOW_OAUTH_BYPASS": False,
              "MFA_ALLOW_TRUSTED_HEADER_BYPASS": False, "PENDING_USER_OVERLAY_TITLE": None}
    config.update(changes)
    return config


@pytest.fixture
def server():
    FakeOpenWebUI.state = {"password": PASSWORD, "config": settings(), "calls": [], "posted": [], "users": {}}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenWebUI)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def run(url, check_mode=False, diff=False, **args):
    params = {"url": url, "email": ADMIN, "password": PASSWORD, "timeout": 10}
    params.update(args)
    return run_module(open_webui_settings, params, check_mode=check_mode, diff=diff)


def calls():
    return [(method, path) for method, path, _auth in FakeOpenWebUI.state["calls"]]


def test_settings_already_right_change_nothing_and_sign_up_is_proven_closed(server):
    result = run(server)
    assert result.get("failed") is not True, result
    assert result["changed"] is False
    assert result["signed_in"] is True and result["signup_refused"] is True
    assert result["settings"] == {"ENABLE_SIGNUP": False, "DEFAULT_USER_ROLE": "pending"}
    assert calls() == [("POST", "/api/v1/auths/signin"), ("GET", "/api/v1/auths/admin/config"),
                       ("POST", "/api/v1/auths/signup"), ("POST", "/api/v1/auths/signout")]
    # The sign-up goes as a visitor's would: without the admin's token.
    assert FakeOpenWebUI.state["calls"][2][2] is False
    assert FakeOpenWebUI.state["posted"] == [] and FakeOpenWebUI.state["users"] == {}
    assert PASSWORD not in json.dumps(result) and TOKEN not in json.dumps(result)


def test_sign_up_opened_in_the_admin_panel_is_closed_again(server):
    FakeOpenWebUI.state["config"] = settings(ENABLE_SIGNUP=True, DEFAULT_USER_ROLE="user", ENABLE_API_KEYS=True)
    result = run(server, diff=True)
    assert result.get("failed") is not True, result
    assert result["changed"] is True and result["signup_refused"] is True
    assert result["before"] == {"ENABLE_SIGNUP": True, "DEFAULT_USER_ROLE": "user"}
    assert result["settings"] == {"ENABLE_SIGNUP": False, "DEFAULT_USER_ROLE": "pending"}
    assert result["diff"] == {"before": result["before"], "after": result["settings"]}
    posted, = FakeOpenWebUI.state["posted"]
    # Every other setting goes back as it was; the second-factor policy and empty values are not sent at all.
    assert posted["ENABLE_SIGNUP"] is False and posted["DEFAULT_USER_ROLE"] == "pending"
    assert posted["ENABLE_API_KEYS"] is True and posted["JWT_EXPIRES_IN"] == "4w" and posted["WEBUI_URL"] == ""
    assert not {"ENABLE_MFA", "MFA_ALLOW_OAUTH_BYPASS", "MFA_ALLOW_TRUSTED_HEADER_BYPASS"} & set(posted)
    assert "PENDING_USER_OVERLAY_TITLE" not in posted and "ADMIN_EMAIL" not in posted
    assert FakeOpenWebUI.state["config"]["ENABLE_SIGNUP"] is False
    assert FakeOpenWebUI.state["users"] == {}
    assert calls()[-2:] == [("POST", "/api/v1/auths/signup"), ("POST", "/api/v1/auths/signout")]
    again = run(server)
    assert again["changed"] is False and again["signup_refused"] is True


def test_only_the_default_role_differs(server):
    FakeOpenWebUI.state["config"] = settings(DEFAULT_USER_ROLE="user")
    result = run(server)
    assert result["changed"] is True
    assert FakeOpenWebUI.state["config"]["DEFAULT_USER_ROLE"] == "pending"
    assert run(server, default_user_role="user")["changed"] is True
    assert FakeOpenWebUI.state["config"]["DEFAULT_USER_ROLE"] == "user"


def test_check_mode_predicts_the_change_and_sends_nothing(server):
    FakeOpenWebUI.state["config"] = settings(ENABLE_SIGNUP=True)
    result = run(server, check_mode=True)
    assert result.get("failed") is not True, result
    assert result["changed"] is True and result["signup_refused"] is None
    assert result["settings"] == {"ENABLE_SIGNUP": False, "DEFAULT_USER_ROLE": "pending"}
    assert FakeOpenWebUI.state["posted"] == [] and FakeOpenWebUI.state["config"]["ENABLE_SIGNUP"] is True
    assert ("POST", "/api/v1/auths/signup") not in calls()
    assert calls() == [("POST", "/api/v1/auths/signin"), ("GET", "/api/v1/auths/admin/config"),
                       ("POST", "/api/v1/auths/signout")]


def test_check_mode_on_settings_already_right_predicts_no_change(server):
    result = run(server, check_mode=True)
    assert result["changed"] is False and FakeOpenWebUI.state["users"] == {}


def test_a_wrong_admin_password_fails_clearly(server):
    FakeOpenWebUI.state["password"] = "changed-in-the-admin-panel"
    result = run(server)
    assert result["failed"] is True
    assert result["status"] == 400 and result["api_error"] == INVALID_CRED
    assert server + "/api/v1/auths/signin" in result["msg"] and "HTTP 400" in result["msg"]
    assert INVALID_CRED in result["msg"] and "changed in Open WebUI" in result["msg"] and ADMIN in result["msg"]
    assert PASSWORD not in json.dumps(result)
    assert calls() == [("POST", "/api/v1/auths/signin")]


def test_sign_up_still_open_after_setting_fails_and_the_account_is_deleted(server):
    FakeOpenWebUI.state["config"] = settings(ENABLE_SIGNUP=True)
    FakeOpenWebUI.state["signup_stuck_open"] = True
    result = run(server)
    assert result["failed"] is True
    assert result["changed"] is True and result["signup_refused"] is False
    assert "sign-up is open" in result["msg"] and server + "/api/v1/auths/signup" in result["msg"]
    assert "deleted again" in result["msg"]
    assert result["signup_account"]["email"].endswith("@llmops-signup-check.invalid")
    assert result["signup_account"]["deleted"] is True and FakeOpenWebUI.state["users"] == {}
    assert calls()[-3:] == [("POST", "/api/v1/auths/signup"), ("DELETE", "/api/v1/users/u-1"),
                            ("POST", "/api/v1/auths/signout")]


def test_a_setting_open_webui_does_not_keep_fails(server):
    FakeOpenWebUI.state["config"] = settings(ENABLE_SIGNUP=True)
    FakeOpenWebUI.state["ignores_signup"] = True
    result = run(server)
    assert result["failed"] is True
    assert "ENABLE_SIGNUP=false" in result["msg"] and "answered ENABLE_SIGNUP=true" in result["msg"]
    assert ("POST", "/api/v1/auths/signup") not in calls()


def test_open_sign_up_wanted_is_set_and_not_probed(server):
    result = run(server, enable_signup=True)
    assert result["changed"] is True and result["signup_refused"] is None
    assert FakeOpenWebUI.state["config"]["ENABLE_SIGNUP"] is True
    assert ("POST", "/api/v1/auths/signup") not in calls()


def test_an_account_that_is_not_an_admin_fails(server):
    FakeOpenWebUI.state["role"] = "user"
    result = run(server)
    assert result["failed"] is True and "is not an admin" in result["msg"] and result["url"] == server


def test_a_second_factor_is_named(server):
    FakeOpenWebUI.state["mfa"] = True
    result = run(server)
    assert result["failed"] is True and "second step (verify)" in result["msg"]


def test_a_refused_setting_names_open_webuis_validation_text(server):
    FakeOpenWebUI.state["config"] = settings(ENABLE_SIGNUP=True)
    del FakeOpenWebUI.state["config"]["JWT_EXPIRES_IN"]
    result = run(server)
    assert result["failed"] is True and result["status"] == 422
    assert "body.JWT_EXPIRES_IN: Field required" in result["msg"] and server + "/api/v1/auths/admin/config" in result["msg"]


def test_nothing_listening_names_the_url(server):
    result = run("http://127.0.0.1:9", timeout=3)
    assert result["failed"] is True and "http://127.0.0.1:9/api/v1/auths/signin" in result["msg"]


def fake_engine(running=True):
    def run_command(self, argv, **kwargs):
        if argv[1:3] == ["container", "inspect"] and argv[3] == "open-webui":
            return 0, json.dumps([{"State": {"Running": running},
                                   "NetworkSettings": {"Networks": {"llmops-ui": {"IPAddress": "127.0.0.1"}}}}]), ""
        return 1, "", "Error: No such container: %s" % argv[-1]
    return run_command


def test_the_container_is_reached_at_its_address_on_the_network(server):
    port = int(server.rsplit(":", 1)[1])
    args = {"url": "", "engine": "docker", "container": "open-webui", "network": "llmops-ui", "port": port}
    with mock.patch.object(open_webui_settings.AnsibleModule, "run_command", fake_engine()), \
            mock.patch.object(open_webui_settings.AnsibleModule, "get_bin_path", lambda self, name, **kw: "/usr/bin/" + name):
        result = run(**args)
        elsewhere_args = dict(args)
        elsewhere_args["network"] = "llmops"
        elsewhere = run(**elsewhere_args)
    with mock.patch.object(open_webui_settings.AnsibleModule, "run_command", fake_engine(running=False)), \
            mock.patch.object(open_webui_settings.AnsibleModule, "get_bin_path", lambda self, name, **kw: "/usr/bin/" + name):
        stopped = run(**args)
    assert result.get("failed") is not True, result
    assert result["url"] == server and result["changed"] is False
    assert elsewhere["failed"] is True and "no address on the network llmops (it is on: llmops-ui)" in elsewhere["msg"]
    assert stopped["failed"] is True and "the container open-webui is not running" in stopped["msg"]


def test_without_url_the_container_is_required(server):
    result = run("", engine="docker")
    assert result["failed"] is True and "without url, give container, network" in result["msg"]
