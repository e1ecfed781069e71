#!/usr/bin/python
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: secret_file
short_description: Keep a generated secret in a private file on the host, read back on every run, never rotated
version_added: 0.3.0
author: llmops.ollama maintainers (@llmops)
description:
  - On the first run, generates a secret of O(length) letters and digits (Python's C(secrets.choice)), or takes the
    one given in O(value), and stores it in O(path), mode C(0600).
  - On every later run, reads the stored secret back and returns it unchanged, so a re-run never rotates it. Only a
    O(value) that differs from the stored one replaces it.
  - A stored file whose mode is not C(0600), or whose owner or group differs from O(owner) and O(group), is fixed; its
    content is kept.
  - A stored file that is empty (or holds only white space) counts as no secret, so a new one is stored.
  - The file is never reached through a link. A symbolic link or anything but a regular file at O(path) fails, naming
    the path, and is left as it is. The file is replaced atomically (a temporary file created exclusively with mode
    C(0600) in the same directory, owner and mode set on its descriptor, synced, then renamed over O(path)).
  - The parent directory is created with mode C(0700) and O(owner) and O(group) when it is missing (so are missing
    directories above it); an existing directory keeps its owner and mode.
extends_documentation_fragment:
  - llmops.ollama.attributes
  - llmops.ollama.host_file
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads the stored secret and predicts the change; it writes nothing. When no secret is stored yet,
        it returns a freshly generated one that it did not store (the next real run generates another).
  diff_mode:
    support: none
    details:
      - The file holds a secret; no diff is shown.
  idempotent:
    support: full
options:
  path:
    description:
      - The absolute path of the file that keeps the secret.
    type: path
    required: true
  length:
    description:
      - The number of characters of a generated secret (letters and digits), from 16 to 4096.
      - A stored secret is kept whatever its length.
    type: int
    default: 32
  value:
    description:
      - The user's own secret. When it differs from the stored one, it replaces it.
      - An empty string counts as not given, so a role can pass a variable whose default is empty.
    type: str
notes:
  - Set C(no_log) on the task, since the result holds the secret.
  - Error messages name the path, never the secret or the file's content.
"""

EXAMPLES = r"""
- name: The UI's access code, generated once and kept
  llmops.ollama.secret_file:
    path: /etc/llmops/lobechat/access_code
    length: 32
  register: access_code
  no_log: true

- name: The operator's own access code when one is set, the stored or a new one otherwise
  llmops.ollama.secret_file:
    path: /etc/llmops/lobechat/access_code
    value: "{{ lobechat_access_code }}"
  register: access_code
  no_log: true

- name: Use it
  ansible.builtin.set_fact:
    __lobechat_access_code: "{{ access_code.secret }}"
  no_log: true
"""

RETURN = r"""
secret:
  description:
    - The secret, that is the stored one, the given O(value), or a new one.
    - In check mode, when nothing is stored yet, a freshly generated value that was not stored.
  returned: success
  type: str
  sample: 3hPq7ZkW0bX9mTn2Lr5VcY8dJa1GsE4u
created:
  description: Whether the file did not exist before this run (in check mode, whether it would be created).
  returned: success
  type: bool
  sample: false
path:
  description: The path of the file, as given.
  returned: always
  type: str
  sample: /etc/llmops/lobechat/access_code
"""

import secrets
import string

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.ollama.plugins.module_utils._host_file import (
    HostFile, HostFileError, make_dirs, missing_dirs, resolve_owner)

MIN_LENGTH = 16
MAX_LENGTH = 4096
MAX_SECRET_BYTES = 64 * 1024
FILE_MODE = 0o600
DIR_MODE = 0o700
ALPHABET = string.ascii_letters + string.digits
MASKED = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def generate(length):
    return "".join(secrets.choice(ALPHABET) for dummy in range(length))


def keep_secret(path, length, value, uid, gid, check_mode):
    """(changed, created, secret) for the file at path; writes nothing in check mode."""
    target = HostFile(path)
    dirs = missing_dirs(target.directory)
    if dirs:
        secret = value if value else generate(length)
        if not check_mode:
            make_dirs(dirs, DIR_MODE, uid, gid)
            with target:
                target.write(secret.encode("utf-8"), FILE_MODE, uid, gid)
        return True, True, secret

    with target:
        data, st = target.read(MAX_SECRET_BYTES)
        if data is None or not data.strip():
            secret = value if value else generate(length)
            if not check_mode:
                target.write(secret.encode("utf-8"), FILE_MODE, uid, gid)
            return True, st is None, secret
        try:
            stored = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise HostFileError("%s does not hold UTF-8 text (byte %d); remove it or give value" % (path, e.start))
        if value and value != stored:
            if not check_mode:
                target.write(value.encode("utf-8"), FILE_MODE, uid, gid)
            return True, False, value
        if check_mode:
            changed = st.st_mode & 0o7777 != FILE_MODE or (st.st_uid, st.st_gid) != (uid, gid)
        else:
            changed = target.fix_attributes(FILE_MODE, uid, gid)
        return changed, False, stored


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "length": {"type": "int", "default": 32},
            "value": {"type": "str", "no_log": True},
            "owner": {"type": "str", "default": "root"},
            "group": {"type": "str", "default": "root"},
        },
        supports_check_mode=True,
    )
    params = module.params
    path = params["path"]
    if params["length"] < MIN_LENGTH:
        module.fail_json(msg="length: %d is too short for a secret; use %d or more" % (params["length"], MIN_LENGTH),
                         path=path)
    if params["length"] > MAX_LENGTH:
        module.fail_json(msg="length: %d is more than the %d this module generates" % (params["length"], MAX_LENGTH),
                         path=path)
    try:
        uid, gid = resolve_owner(params["owner"], params["group"])
        changed, created, secret = keep_secret(path, params["length"], params["value"], uid, gid, module.check_mode)
    except HostFileError as e:
        module.fail_json(msg=str(e), path=path)

    # The result must carry the secret even when it is the no_log `value`, which AnsibleModule would mask in the
    # whole result: the invocation is masked here instead, then the value is let through for `secret` alone.
    invocation = dict(params, value=MASKED if params["value"] is not None else None)
    if params["value"]:
        module.no_log_values.discard(params["value"])
    module.exit_json(changed=changed, created=created, secret=secret, path=path,
                     invocation={"module_args": invocation})


if __name__ == "__main__":
    main()
