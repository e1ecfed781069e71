# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

"""Open WebUI's own API as an admin uses it: sign in, read and write the admin's auth settings, try a sign-up,
delete an account, sign out. Every request goes through the collection's one transport (_http.py): bodies capped,
each request done within its time-out, the token sent only to Open WebUI's own origin.

What Open WebUI does (routers/auths.py of the release the role deploys, 0.12.x):

- ``POST /api/v1/auths/signin`` answers 200 with the session (``token``, ``role``...), 400 with
  ``{"detail": "The email or password provided is incorrect..."}`` for a wrong password, 429 after 15 sign-ins of
  one address in 3 minutes, or, with a second factor on, a challenge (``next_step``) instead of a token.
- ``GET /api/v1/auths/admin/config`` (an admin's token) answers the settings, ``ENABLE_SIGNUP`` and
  ``DEFAULT_USER_ROLE`` among them; ``POST`` takes them all back. A field left out keeps its value where Open
  WebUI allows it, and the second-factor policy is one of those: changing it signs every user out, so it is never
  sent.
- ``POST /api/v1/auths/signup`` answers 403 ("You do not have permission...") before it looks at the address when
  sign-up is closed and a user exists; when it is open, a new address becomes an account (200, with its ``id``).
"""

from __future__ import annotations

import json
import secrets

from ansible_collections.llmops.ollama.plugins.module_utils._http import ApiError, HttpTransport

# The settings the role keeps, as Open WebUI names them in its admin configuration.
MANAGED = ("ENABLE_SIGNUP", "DEFAULT_USER_ROLE")
# Never sent back: Open WebUI revokes every session when the second-factor policy changes.
NOT_SENT = frozenset(("ENABLE_MFA", "MFA_ALLOW_OAUTH_BYPASS", "MFA_ALLOW_TRUSTED_HEADER_BYPASS", "sessions_revoked"))
SIGNUP_CHECK_DOMAIN = "llmops-signup-check.invalid"


class SettingsError(Exception):
    """A failure that is not one request's: what was wrong, with the facts for fail_json."""

    def __init__(self, msg, **facts):
        super().__init__(msg)
        self.msg = msg
        self.facts = facts


def error_text(raw):
    """Open WebUI's (FastAPI's) own error text: ``detail`` as a string, or the messages of a validation error."""
    try:
        body = json.loads(raw)
    except (ValueError, TypeError):
        return None
    if not isinstance(body, dict):
        return None
    detail = body.get("detail", body.get("message"))
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                where = ".".join(str(p) for p in item.get("loc") or [])
                parts.append(("%s: %s" % (where, item.get("msg"))) if where else str(item.get("msg")))
            else:
                parts.append(str(item))
        return "; ".join(parts) or None
    return None


class OpenWebUI:
    """One admin session against one Open WebUI base URL."""

    def __init__(self, base_url, timeout, validate_certs=True):
        self.http = HttpTransport(base_url, timeout, validate_certs=validate_certs, error_text=error_text,
                                  busy_retries=0)
        self.signed_in = False

    @property
    def url(self):
        return self.http.base_url

    def sign_in(self, email, password):
        """Sign the admin in; the token then goes with every request (to this origin only)."""
        try:
            session = self.http.call_json("POST", "/api/v1/auths/signin", {"email": email, "password": password})
        except ApiError as e:
            if e.status == 400:
                e.msg += (" (the admin %s does not sign in with the password given: was it changed in Open WebUI? "
                          "Give the current one)" % email)
            elif e.status == 429:
                e.msg += " (Open WebUI allows 15 sign-ins of one address in 3 minutes; run again later)"
            raise
        if not isinstance(session, dict) or not isinstance(session.get("token"), str) or not session["token"]:
            step = session.get("next_step") if isinstance(session, dict) else None
            why = ("it asks for a second step (%s), which this module cannot answer" % step) if step else \
                "its answer holds no token"
            raise SettingsError("POST %s signed %s in, but %s" % (self.http.url("/api/v1/auths/signin"), email, why),
                                url=self.url)
        if session.get("role") != "admin":
            raise SettingsError("%s signs in to Open WebUI at %s but is not an admin (role %r); the settings need "
                                "the admin" % (email, self.url, session.get("role")), url=self.url)
        self.http.headers["Authorization"] = "Bearer " + session["token"]
        self.signed_in = True
        return session

    def sign_out(self):
        """Close the session again (a courtesy: a failure here changes nothing)."""
        if not self.signed_in:
            return
        try:
            self.http.call_json("POST", "/api/v1/auths/signout")
        except ApiError:
            pass
        finally:
            self.http.headers.pop("Authorization", None)
            self.signed_in = False

    def admin_config(self):
        path = "/api/v1/auths/admin/config"
        config = self.http.call_json("GET", path)
        if not isinstance(config, dict):
            raise SettingsError("GET %s answered %r, not the admin settings" % (self.http.url(path), config),
                                url=self.url)
        missing = [key for key in MANAGED if key not in config]
        if missing:
            raise SettingsError("GET %s answered settings without %s: is this Open WebUI?"
                                % (self.http.url(path), ", ".join(missing)), url=self.url)
        return config

    def set_admin_config(self, config, wanted):
        """Send the settings as they are, with `wanted` in place; return what Open WebUI answers it keeps."""
        path = "/api/v1/auths/admin/config"
        body = {key: value for key, value in config.items() if key not in NOT_SENT and value is not None}
        body.update(wanted)
        answer = self.http.call_json("POST", path, body)
        if not isinstance(answer, dict):
            raise SettingsError("POST %s answered %r, not the admin settings" % (self.http.url(path), answer),
                                url=self.url)
        return answer

    def try_sign_up(self):
        """Try a sign-up with a new random address. (True, None) when Open WebUI refuses it with 403; (False,
        account) when it made the account, which is deleted again at once. Any other answer is an ApiError."""
        path = "/api/v1/auths/signup"
        email = "signup-check-%s@%s" % (secrets.token_hex(8), SIGNUP_CHECK_DOMAIN)
        body = {"name": "llmops sign-up check", "email": email, "password": secrets.token_urlsafe(24)}
        # Not through this session: a visitor has none.
        token = self.http.headers.pop("Authorization", None)
        try:
            account = self.http.call_json("POST", path, body)
        except ApiError as e:
            if e.status == 403:
                return True, None
            raise
        finally:
            if token is not None:
                self.http.headers["Authorization"] = token
        made = account if isinstance(account, dict) else {}
        return False, {"email": email, "id": made.get("id"), "role": made.get("role"),
                       "deleted": self.delete_user(made.get("id"))}

    def delete_user(self, user_id):
        if not isinstance(user_id, str) or not user_id:
            return False
        try:
            return self.http.call_json("DELETE", "/api/v1/users/%s" % user_id) is True
        except ApiError:
            return False


def check_settings(client, email, password, wanted, check_mode, prove_closed):
    """Sign in, compare the managed settings with `wanted`, set them when they differ (not in check mode) and, with
    prove_closed, show that a sign-up is refused. Returns the result facts; raises ApiError or SettingsError."""
    result = {"changed": False, "url": client.url, "signed_in": False, "signup_refused": None}
    try:
        _check(client, email, password, wanted, check_mode, prove_closed, result)
    except ApiError as e:
        e.partial = result  # what had been done when the request failed (a change made before it, say)
        raise
    return result


def _check(client, email, password, wanted, check_mode, prove_closed, result):
    client.sign_in(email, password)
    try:
        result["signed_in"] = True
        config = client.admin_config()
        before = {key: config.get(key) for key in MANAGED}
        result["before"] = before
        result["settings"] = dict(before)
        differ = {key: value for key, value in wanted.items() if before.get(key) != value}
        if differ:
            result["changed"] = True
            result["settings"] = dict(before, **wanted)
            if not check_mode:
                answer = client.set_admin_config(config, wanted)
                kept = {key: answer.get(key) for key in MANAGED}
                if any(kept.get(key) != value for key, value in wanted.items()):
                    raise SettingsError("POST %s/api/v1/auths/admin/config was asked for %s and answered %s"
                                        % (client.url, _show(wanted), _show(kept)), **result)
                result["settings"] = kept
        if prove_closed and not check_mode:
            refused, account = client.try_sign_up()
            result["signup_refused"] = refused
            if not refused:
                raise SettingsError(
                    "sign-up is open on Open WebUI at %s although its settings say ENABLE_SIGNUP=%s: POST "
                    "%s/api/v1/auths/signup made an account for %s (%s)"
                    % (client.url, _show_value(result["settings"].get("ENABLE_SIGNUP")), client.url, account["email"],
                       "deleted again" if account["deleted"] else "NOT deleted: delete it in the admin panel"),
                    signup_account=account, **result)
    finally:
        client.sign_out()


def _show_value(value):
    return json.dumps(value)


def _show(settings):
    return ", ".join("%s=%s" % (key, _show_value(settings.get(key))) for key in MANAGED if key in settings)
