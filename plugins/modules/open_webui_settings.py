#!/usr/bin/python
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: open_webui_settings
short_description: Keep Open WebUI's sign-up and new users' role as wanted, through its admin API, and prove sign-up is closed
version_added: 0.9.0
author: llmops.ollama maintainers (@llmops)
description:
  - Open WebUI keeps C(ENABLE_SIGNUP) and C(DEFAULT_USER_ROLE) as settings an admin can change in its admin panel,
    and the value saved there can outlive the container's environment. This module asks Open WebUI itself, on every
    run, as the admin does.
  - It signs in as the admin (C(POST /api/v1/auths/signin) with O(email) and O(password)), reads the admin's auth
    settings (C(GET /api/v1/auths/admin/config)) and, when C(ENABLE_SIGNUP) or C(DEFAULT_USER_ROLE) differ from
    O(enable_signup) and O(default_user_role), sends the settings back with those two in place
    (C(POST /api/v1/auths/admin/config)); every other setting is sent as Open WebUI answered it, except the
    second-factor policy, which is never sent (Open WebUI signs every user out when it changes).
  - With O(enable_signup=false) it then proves that sign-up is closed, as a visitor would find out. A sign-up
    (C(POST /api/v1/auths/signup)) with a new random address under C(llmops-signup-check.invalid) must be refused
    with C(403). Should Open WebUI make the account instead, the module deletes it again at once and fails.
  - The session is closed again at the end (C(POST /api/v1/auths/signout)).
  - Open WebUI is reached from the host at the container's address on its private network (O(engine),
    O(container), O(network), O(port); it publishes no port on the host), or at O(url).
  - Failures name the URL, the HTTP status and Open WebUI's own error text. The password is sent only in the
    sign-in's body; it is never in the result or a message.
extends_documentation_fragment:
  - llmops.ollama.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode signs in, reads the settings and predicts the change; it sends no setting and tries no sign-up.
  diff_mode:
    support: full
    details:
      - The diff shows C(ENABLE_SIGNUP) and C(DEFAULT_USER_ROLE) before and after.
  idempotent:
    support: full
options:
  url:
    description:
      - Open WebUI's base URL, such as V(http://127.0.0.1:8080). Empty to reach the container at its address on
        O(network) instead.
    type: str
    default: ""
  engine:
    description: The container engine that runs Open WebUI; needed without O(url).
    type: str
    choices: [docker, podman]
  container:
    description: The Open WebUI container's name; its address on O(network) is read with C(<engine> container inspect).
    type: str
  network:
    description: The private network the Open WebUI container is on; needed without O(url).
    type: str
  port:
    description: The port Open WebUI listens on inside the container.
    type: int
    default: 8080
  email:
    description: The admin's e-mail address.
    type: str
    required: true
  password:
    description: The admin's password.
    type: str
    required: true
  enable_signup:
    description: Whether visitors may create accounts (Open WebUI's C(ENABLE_SIGNUP)).
    type: bool
    default: false
  default_user_role:
    description:
      - The role of an account made by a sign-up (C(DEFAULT_USER_ROLE)); V(pending) waits until an admin lets it in.
    type: str
    choices: [pending, user]
    default: pending
  verify_signup_closed:
    description: With O(enable_signup=false), try a sign-up and fail unless Open WebUI refuses it.
    type: bool
    default: true
  timeout:
    description: Seconds for each request, its whole answer included.
    type: int
    default: 30
  validate_certs:
    description: Check the TLS certificate of an V(https) O(url).
    type: bool
    default: true
notes:
  - The module marks O(password) C(no_log) itself.
  - Open WebUI allows 15 sign-ins of one address in 3 minutes; a run beyond that fails saying so.
  - The admin must sign in with a password alone; an admin asked for a second factor makes the module fail.
seealso:
  - module: llmops.ollama.secret_file
"""

EXAMPLES = r"""
- name: Sign-up closed, new accounts pending, and proven closed
  llmops.ollama.open_webui_settings:
    engine: docker
    container: open-webui
    network: llmops-ui
    email: admin@example.org
    password: "{{ open_webui_admin_password }}"
    enable_signup: false
    default_user_role: pending

- name: The same from the controller, through the front door
  llmops.ollama.open_webui_settings:
    url: https://chat.example.org
    email: admin@example.org
    password: "{{ open_webui_admin_password }}"
  delegate_to: localhost
"""

RETURN = r"""
url:
  description: Where Open WebUI was asked.
  returned: success
  type: str
  sample: http://10.89.1.4:8080
signed_in:
  description: Whether the admin signed in.
  returned: success
  type: bool
  sample: true
before:
  description: C(ENABLE_SIGNUP) and C(DEFAULT_USER_ROLE) as Open WebUI had them.
  returned: success
  type: dict
  sample: {"ENABLE_SIGNUP": true, "DEFAULT_USER_ROLE": "pending"}
settings:
  description: C(ENABLE_SIGNUP) and C(DEFAULT_USER_ROLE) as Open WebUI has them now (in check mode, as they would be).
  returned: success
  type: dict
  sample: {"ENABLE_SIGNUP": false, "DEFAULT_USER_ROLE": "pending"}
signup_refused:
  description: Whether a sign-up was tried and refused; null when none was tried (check mode, O(enable_signup=true)).
  returned: success
  type: bool
  sample: true
"""

import json

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.ollama.plugins.module_utils._container_runtime import container_address
from ansible_collections.llmops.ollama.plugins.module_utils._http import ApiError
from ansible_collections.llmops.ollama.plugins.module_utils._open_webui import (
    OpenWebUI,
    SettingsError,
    check_settings,
)


def main():
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "default": ""},
            "engine": {"type": "str", "choices": ["docker", "podman"]},
            "container": {"type": "str"},
            "network": {"type": "str"},
            "port": {"type": "int", "default": 8080},
            "email": {"type": "str", "required": True},
            "password": {"type": "str", "required": True, "no_log": True},
            "enable_signup": {"type": "bool", "default": False},
            "default_user_role": {"type": "str", "choices": ["pending", "user"], "default": "pending"},
            "verify_signup_closed": {"type": "bool", "default": True},
            "timeout": {"type": "int", "default": 30},
            "validate_certs": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    where = {}
    try:
        if params["url"]:
            if not params["url"].startswith(("http://", "https://")):
                raise SettingsError("url=%s must be an http(s) URL" % json.dumps(params["url"]))
            base = params["url"].rstrip("/")
        else:
            missing = [name for name in ("engine", "container", "network") if not params[name]]
            if missing:
                raise SettingsError("without url, give %s" % ", ".join(missing))
            engine = module.get_bin_path(params["engine"], required=True)
            address = container_address(module, engine, params["container"], params["network"], SettingsError)
            base = "http://%s:%d" % (address if ":" not in address else "[%s]" % address, params["port"])
        where["url"] = base
        wanted = {"ENABLE_SIGNUP": params["enable_signup"], "DEFAULT_USER_ROLE": params["default_user_role"]}
        client = OpenWebUI(base, params["timeout"], validate_certs=params["validate_certs"])
        result = check_settings(client, params["email"], params["password"], wanted, module.check_mode,
                                prove_closed=params["verify_signup_closed"] and not params["enable_signup"])
    except ApiError as e:
        facts = dict(where, **getattr(e, "partial", {}))
        facts.update(e.result())
        module.fail_json(msg="Open WebUI settings (admin %s): %s" % (params["email"], e.msg), **facts)
    except SettingsError as e:
        facts = dict(where, **e.facts)
        module.fail_json(msg="Open WebUI settings (admin %s): %s" % (params["email"], e.msg), **facts)
    if module._diff:
        result["diff"] = {"before": result["before"], "after": result["settings"]}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
