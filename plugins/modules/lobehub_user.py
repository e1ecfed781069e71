#!/usr/bin/python
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: lobehub_user
short_description: Make sure a LobeHub 2.x e-mail and password account exists, through LobeHub's own sign-in API
version_added: 0.4.0
author: llmops.ollama maintainers (@llmops)
description:
  - LobeHub 2.x (Better Auth) has no variable that seeds a first user. This module does what a browser would, over
    HTTP from the host to the LobeHub container's address on its private network (LobeHub publishes no port on the
    host). It sends C(POST /api/auth/sign-in/email) with O(email) and O(password), and only when that answers C(401)
    (no such account, or another password) C(POST /api/auth/sign-up/email). Sign-up creates the account only if
    LobeHub's C(AUTH_ALLOWED_EMAILS) lets the address through. The session either call opens is closed again
    (C(POST /api/auth/sign-out)), so a run leaves no session behind.
  - An account that exists with another password fails the task and is left alone, its role included. The module
    never makes an account admin that it has not signed in to with O(password), so an address someone registered
    before it was named here is not promoted. The message names the address and the ways out.
  - With O(role) and O(database_container), the account's C(users.role) (Better Auth's admin plugin) is set with
    C(psql) in the database container; C(admin) makes it an admin for Better Auth's C(/api/auth/admin) endpoints.
    When the sign-in's answer shows the account (read from the database for that sign-in) with O(role) already, as
    Better Auth's admin plugin returns it, the database is not asked again.
  - The password is sent only in the request body, to the container's own address; it is never in the result, a
    message or a command line.
  - Better Auth allows 3 sign-in or sign-up requests per 10 seconds per client; a C(429) is waited out and retried.
extends_documentation_fragment:
  - llmops.ollama.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode sends no request to LobeHub. With O(database_container) it reads the C(users) table with C(psql)
        and predicts whether the account would be created or its role set; without it, it predicts no change.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  engine:
    description: The container engine that runs LobeHub.
    type: str
    choices: [docker, podman]
    required: true
  container:
    description: The LobeHub container's name; its address on O(network) is read with C(<engine> container inspect).
    type: str
    required: true
  network:
    description: The private network the LobeHub container is on.
    type: str
    required: true
  port:
    description: The port LobeHub listens on inside the container.
    type: int
    default: 3210
  origin:
    description:
      - The C(Origin) header sent with every request, the origin of LobeHub's C(APP_URL) (C(https://chat.example)).
        Better Auth refuses a cookie-bearing POST (the sign-out) whose origin it does not trust.
    type: str
    required: true
  email:
    description: The account's e-mail address.
    type: str
    required: true
  password:
    description: The account's password (8 to 64 characters, Better Auth's limits).
    type: str
    required: true
  name:
    description: The display name given at sign-up.
    type: str
    default: Admin
  role:
    description: The C(users.role) the account must have, such as V(admin); empty leaves it as LobeHub made it.
    type: str
    default: ""
  database_container:
    description: The Postgres container of LobeHub's database, for O(role) and for check mode; empty for none.
    type: str
    default: ""
  database_name:
    description: LobeHub's database.
    type: str
    default: lobechat
  database_user:
    description: The Postgres user C(psql) connects as over the container's local socket.
    type: str
    default: postgres
  timeout:
    description: Seconds to wait for each HTTP answer.
    type: int
    default: 30
notes:
  - Set C(no_log) on the task or keep the password in a variable marked C(no_log); the module marks O(password)
    C(no_log) itself.
seealso:
  - module: llmops.ollama.secret_file
"""

EXAMPLES = r"""
- name: The first admin, signed up once through LobeHub's Better Auth API
  llmops.ollama.lobehub_user:
    engine: docker
    container: lobechat
    network: llmops-ui
    origin: https://chat.example.org
    email: admin@example.org
    password: "{{ admin_password }}"
    role: admin
    database_container: lobechat-postgres
"""

RETURN = r"""
created:
  description: Whether the account was signed up by this run (in check mode, whether it would be).
  returned: success
  type: bool
  sample: false
signed_in:
  description: Whether the password signed in (false when the account has another password, and in check mode).
  returned: success
  type: bool
  sample: true
role_set:
  description: Whether O(role) was written to the account (in check mode, whether it would be).
  returned: success
  type: bool
  sample: false
url:
  description: Where LobeHub was asked, the container's address and port.
  returned: when a request was sent
  type: str
  sample: http://10.89.1.4:3210
"""

import json
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.ollama.plugins.module_utils._container_runtime import container_address
from ansible_collections.llmops.ollama.plugins.module_utils._http import ApiError, HttpTransport

RATE_LIMIT_RETRIES = 4
RATE_LIMIT_WAIT = 10


class Refused(Exception):
    pass


def error_code(raw):
    """Better Auth's error code (INVALID_EMAIL_OR_PASSWORD, USER_ALREADY_EXISTS...), else its message, else None."""
    try:
        body = json.loads(raw)
    except (ValueError, TypeError):
        return None
    if isinstance(body, dict):
        return body.get("code") or body.get("message") or None
    return None


def answered_role(raw):
    """The user's role in a sign-in answer ({"user": {"role": ...}}, Better Auth's admin plugin), else None."""
    try:
        body = json.loads(raw)
    except (ValueError, TypeError):
        return None
    user = body.get("user") if isinstance(body, dict) else None
    role = user.get("role") if isinstance(user, dict) else None
    return role if isinstance(role, str) else None


class Account:
    """Sign in, sign up and sign out over one transport; cookies kept between calls."""

    def __init__(self, base, origin, timeout, sleep=time.sleep):
        self.http = HttpTransport(base, timeout, headers={"Origin": origin}, error_text=error_code)
        self.sleep = sleep

    def post(self, path, body):
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            try:
                resp = self.http.open("POST", path, body=body)
            except ApiError as e:
                if e.status == 429 and attempt < RATE_LIMIT_RETRIES:
                    self.sleep(RATE_LIMIT_WAIT)
                    continue
                raise
            with resp:
                body = resp.read()
                return [c.split(";", 1)[0] for c in (resp.headers.get_all("Set-Cookie") or [])], body
        raise AssertionError("unreachable")

    def sign_out(self, cookies):
        kept = [c for c in cookies if c.split("=", 1)[-1] != ""]
        if not kept:
            return
        self.http.headers["Cookie"] = "; ".join(kept)
        try:
            self.post("/api/auth/sign-out", {})
        finally:
            self.http.headers.pop("Cookie", None)

    def ensure(self, email, password, name):
        """(created, signed_in, role): role is the account's role as the sign-in answered it, None when it did not
        say (or there was no sign-in). An account that exists with another password raises Refused."""
        try:
            cookies, body = self.post("/api/auth/sign-in/email",
                                      {"email": email, "password": password, "rememberMe": False})
        except ApiError as e:
            if e.status != 401:
                raise
        else:
            self.sign_out(cookies)
            return False, True, answered_role(body)
        try:
            cookies, body = self.post("/api/auth/sign-up/email", {"email": email, "password": password, "name": name})
        except ApiError as e:
            if e.status == 422 and "ALREADY_EXISTS" in str(e.error or ""):
                # Never promote or trust an account this run could not sign in to: whoever registered the address
                # first (before it was named here) would be made admin.
                raise Refused("the account exists and the password given does not sign in to it, so nothing was "
                              "changed: either someone registered the address before it was named here, or its "
                              "password was changed in LobeHub. If the account is yours, give the password it has; "
                              "if not, delete it in LobeHub's database (DELETE FROM users WHERE email = '%s') and run "
                              "again" % email)
            raise
        self.sign_out(cookies)
        return True, True, None


def psql(module, engine, params, sql, variables):
    argv = [engine, "exec", "-i", params["database_container"], "psql", "-X", "-q", "-t", "-A",
            "-v", "ON_ERROR_STOP=1", "-U", params["database_user"], "-d", params["database_name"]]
    for key, value in sorted(variables.items()):
        argv += ["-v", "%s=%s" % (key, value)]
    rc, out, err = module.run_command(argv, data=sql, binary_data=True)
    if rc != 0:
        raise Refused("psql in %s failed: %s" % (params["database_container"], (err or out).strip()[:300]))
    return out.strip()


def stored_role(module, engine, params):
    """The account's users.role; None when there is no such account."""
    out = psql(module, engine, params,
               "SELECT coalesce(role, '') || '.' FROM users WHERE lower(email) = lower(:'email');\n",
               {"email": params["email"]})
    return out[:-1] if out.endswith(".") else None


def set_role(module, engine, params):
    out = psql(module, engine, params,
               "UPDATE users SET role = :'role' WHERE lower(email) = lower(:'email') "
               "AND role IS DISTINCT FROM :'role' RETURNING id;\n",
               {"email": params["email"], "role": params["role"]})
    return bool(out)


def main():
    module = AnsibleModule(
        argument_spec={
            "engine": {"type": "str", "choices": ["docker", "podman"], "required": True},
            "container": {"type": "str", "required": True},
            "network": {"type": "str", "required": True},
            "port": {"type": "int", "default": 3210},
            "origin": {"type": "str", "required": True},
            "email": {"type": "str", "required": True},
            "password": {"type": "str", "required": True, "no_log": True},
            "name": {"type": "str", "default": "Admin"},
            "role": {"type": "str", "default": ""},
            "database_container": {"type": "str", "default": ""},
            "database_name": {"type": "str", "default": "lobechat"},
            "database_user": {"type": "str", "default": "postgres"},
            "timeout": {"type": "int", "default": 30},
        },
        supports_check_mode=True,
    )
    params = module.params
    if not 8 <= len(params["password"]) <= 64:
        module.fail_json(msg="password: Better Auth takes 8 to 64 characters; this one has %d"
                         % len(params["password"]))
    engine = module.get_bin_path(params["engine"], required=True)
    result = {"changed": False, "created": False, "signed_in": False, "role_set": False}
    try:
        if module.check_mode:
            if params["database_container"]:
                try:
                    role = stored_role(module, engine, params)
                except Refused:
                    role = None  # no database or no schema yet: the first real run makes both, then the account
                result["created"] = role is None
                result["role_set"] = bool(params["role"]) and role != params["role"]
                result["changed"] = result["created"] or result["role_set"]
            module.exit_json(**result)

        address = container_address(module, engine, params["container"], params["network"], Refused)
        base = "http://%s:%d" % (address if ":" not in address else "[%s]" % address, params["port"])
        result["url"] = base
        created, signed_in, role = Account(base, params["origin"], params["timeout"]).ensure(
            params["email"], params["password"], params["name"])
        result.update(created=created, signed_in=signed_in)
        # The sign-in read the account from the database: when it has the role already, psql would change nothing.
        if params["role"] and params["database_container"] and role != params["role"]:
            result["role_set"] = set_role(module, engine, params)
    except ApiError as e:
        module.fail_json(msg="LobeHub account %s: %s" % (params["email"], e.msg), **dict(result, **e.result()))
    except Refused as e:
        module.fail_json(msg="LobeHub account %s: %s" % (params["email"], e), **result)
    result["changed"] = result["created"] or result["role_set"]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
