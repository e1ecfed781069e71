# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The docker CLI as far as lobehub_user calls it, for the integration target: `container inspect lobechat`
(running, on the network llmops-ui at 127.0.0.1; `stopped` is a stopped container) and `exec -i <db> psql ...`
running the module's two statements on the users that files/better_auth.py keeps in STATE_FILE."""

from __future__ import annotations

import json
import os
import sys

STATE_FILE = os.environ["LOBEHUB_STUB_STATE"]


def inspect(name):
    if name not in ("lobechat", "stopped"):
        sys.exit("Error: No such container: %s" % name)
    print(json.dumps([{"Name": "/" + name, "State": {"Running": name == "lobechat"},
                       "NetworkSettings": {"Networks": {"llmops-ui": {"IPAddress": "127.0.0.1"}}}}]))


def psql(argv, sql):
    variables = dict(argv[i + 1].split("=", 1) for i, arg in enumerate(argv) if arg == "-v" and "=" in argv[i + 1])
    with open(STATE_FILE, encoding="utf-8") as fh:
        state = json.load(fh)
    user = state["users"].get(variables.get("email", "").lower())
    if sql.startswith("SELECT"):
        if user:
            print(user["role"] + ".")
    elif sql.startswith("UPDATE"):
        if user and user["role"] != variables["role"]:
            user["role"] = variables["role"]
            with open(STATE_FILE, "w", encoding="utf-8") as fh:
                json.dump(state, fh)
            print(user["id"])
    else:
        sys.exit("psql stand-in: unexpected statement %r" % sql)


def main(argv):
    if argv[:2] == ["container", "inspect"]:
        return inspect(argv[2])
    if argv[:2] == ["exec", "-i"] and argv[3] == "psql":
        if argv[2] != "lobechat-postgres":
            sys.exit("Error: No such container: %s" % argv[2])
        return psql(argv, sys.stdin.read())
    sys.exit("docker stand-in: unexpected %s" % " ".join(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
