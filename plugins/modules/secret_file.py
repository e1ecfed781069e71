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
  - On the first run, generates a secret of O(length) letters and digits (Python's C(secrets.choice)), or, with
    O(format=base64), the base64 text of O(length) random bytes (C(secrets.token_bytes), as C(openssl rand -base64)
    gives), or, with O(format=rsa_jwks), a JSON Web Key Set holding one new RSA private key, or takes the one given in
    O(value), and stores it in O(path), mode C(0600).
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
  - With O(secrets), keeps several secrets in one call (one round trip to the host instead of one per secret), each
    as above, returned under RV(secrets) by the name it was given.
extends_documentation_fragment:
  - llmops.ollama.attributes
  - llmops.ollama.host_file
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads the stored secret and predicts the change; it writes nothing. When no secret is stored yet,
        it returns a freshly generated one that it did not store (the next real run generates another); with
        O(format=rsa_jwks), a key set with no key instead, so that check mode makes no key.
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
      - Required unless O(secrets) is given; mutually exclusive with it.
    type: path
  length:
    description:
      - The number of characters of a generated secret (letters and digits), from 16 to 4096.
      - With O(format=base64), the number of random bytes, whose base64 text is the secret.
      - A stored secret is kept whatever its length.
    type: int
    default: 32
  format:
    description:
      - What a generated secret is made of. V(alphanumeric) is O(length) letters and digits; V(base64) is the
        standard base64 text (with padding) of O(length) random bytes, for a key such as LobeHub's
        C(KEY_VAULTS_SECRET) (base64 of 32 bytes).
      - V(rsa_jwks) is a JSON Web Key Set whose C(keys) list holds the private JWK of one RSA key of O(length) bits (2048 or
        more; a smaller O(length) means 2048) for C(RS256) signatures, such as LobeHub's C(JWKS_KEY). The key is made by
        the host's C(openssl) command (C(openssl genpkey)); its C(kid) is the first 16 hex characters of the SHA-256 of
        its modulus in base64url. No key reaches a command line or the result's messages.
      - A stored or given secret is kept as it is, whatever its format.
    type: str
    choices: [alphanumeric, base64, rsa_jwks]
    default: alphanumeric
    version_added: 0.4.0
  value:
    description:
      - The user's own secret. When it differs from the stored one, it replaces it.
      - An empty string counts as not given, so a role can pass a variable whose default is empty.
    type: str
  secrets:
    description:
      - Several secrets kept in one call, instead of O(path), O(length), O(format) and O(value). Each is kept as one
        call with those options would keep it; O(owner) and O(group) apply to all.
      - A secret that cannot be kept fails the call, naming its path; the secrets before it in the list are kept.
    type: list
    elements: dict
    version_added: 0.4.0
    suboptions:
      name:
        description: The key of this secret in RV(secrets); unique in the list.
        type: str
        required: true
      path:
        description: As O(path).
        type: path
        required: true
      length:
        description: As O(length).
        type: int
        default: 32
      format:
        description: As O(format).
        type: str
        choices: [alphanumeric, base64, rsa_jwks]
        default: alphanumeric
      value:
        description: As O(value).
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

- name: LobeHub's KEY_VAULTS_SECRET, the base64 text of 32 random bytes
  llmops.ollama.secret_file:
    path: /etc/llmops/lobechat/key-vaults-secret
    format: base64
    length: 32
  register: key_vaults_secret
  no_log: true

- name: Use it
  ansible.builtin.set_fact:
    __lobechat_access_code: "{{ access_code.secret }}"
  no_log: true

- name: Two secrets in one call
  llmops.ollama.secret_file:
    secrets:
      - name: auth
        path: /etc/llmops/lobechat/auth-secret
        length: 48
      - name: key_vaults
        path: /etc/llmops/lobechat/key-vaults-secret
        format: base64
        length: 32
  register: kept
  no_log: true

- name: Use them
  ansible.builtin.set_fact:
    __auth_secret: "{{ kept.secrets.auth.secret }}"
  no_log: true
"""

RETURN = r"""
secret:
  description:
    - The secret, that is the stored one, the given O(value), or a new one.
    - In check mode, when nothing is stored yet, a freshly generated value that was not stored.
  returned: success, without O(secrets)
  type: str
  sample: 3hPq7ZkW0bX9mTn2Lr5VcY8dJa1GsE4u
created:
  description: Whether the file did not exist before this run (in check mode, whether it would be created).
  returned: success, without O(secrets)
  type: bool
  sample: false
path:
  description: The path of the file, as given.
  returned: always, without O(secrets)
  type: str
  sample: /etc/llmops/lobechat/access_code
secrets:
  description:
    - With O(secrets), each secret by its name, with its RV(secret), RV(created), RV(path) and C(changed) (whether this
      secret's file was or would be written or fixed), so that C(is changed) tests one secret.
  returned: success, with O(secrets)
  type: dict
  sample:
    auth:
      changed: false
      created: false
      path: /etc/llmops/lobechat/auth-secret
      secret: 3hPq7ZkW0bX9mTn2Lr5VcY8dJa1GsE4u
"""

import base64
import hashlib
import json
import secrets
import string

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.ollama.plugins.module_utils._host_file import (
    OWNER_ARGS, HostFile, HostFileError, make_dirs, missing_dirs, resolve_owner)

MIN_LENGTH = 16
MAX_LENGTH = 4096
MAX_SECRET_BYTES = 64 * 1024
FILE_MODE = 0o600
DIR_MODE = 0o700
ALPHABET = string.ascii_letters + string.digits
MASKED = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


RSA_MIN_BITS = 2048
# The parts of an RSA private key as `openssl pkey -text` names them, and as a JWK does (RFC 7518, 6.3).
_RSA_PARTS = (("modulus", "n"), ("publicExponent", "e"), ("privateExponent", "d"), ("prime1", "p"), ("prime2", "q"),
              ("exponent1", "dp"), ("exponent2", "dq"), ("coefficient", "qi"))


def generate(length, fmt="alphanumeric"):
    if fmt == "base64":
        return base64.b64encode(secrets.token_bytes(length)).decode("ascii")
    return "".join(secrets.choice(ALPHABET) for dummy in range(length))


def _b64url_uint(number):
    raw = number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def rsa_parts(text):
    """The integers of an RSA private key from `openssl pkey -text -noout`, by OpenSSL's names."""
    parts, name, digits = {}, None, []
    for line in text.splitlines():
        head = line.strip()
        if not line.startswith((" ", "\t")) and ":" in head:
            if name and digits:
                parts[name] = int("".join(digits).replace(":", ""), 16)
            name, digits = None, []
            label, dummy, rest = head.partition(":")
            if rest.strip():  # publicExponent: 65537 (0x10001)
                try:
                    parts[label] = int(rest.split()[0])
                except ValueError:
                    pass
            else:
                name = label
        elif name:
            digits.append(head)
    if name and digits:
        parts[name] = int("".join(digits).replace(":", ""), 16)
    return parts


def jwks_from_parts(parts):
    """A JWKS of the one RSA private key `parts` (rsa_parts()), as JSON text."""
    missing = [name for name, dummy in _RSA_PARTS if name not in parts]
    if missing:
        raise HostFileError("openssl gave no %s for the RSA key" % ", ".join(missing))
    key = {"kty": "RSA"}
    key.update((jwk, _b64url_uint(parts[name])) for name, jwk in _RSA_PARTS)
    key["alg"] = "RS256"
    key["use"] = "sig"
    key["kid"] = hashlib.sha256(_b64url_uint(parts["modulus"]).encode("ascii")).hexdigest()[:16]
    return json.dumps({"keys": [key]}, sort_keys=True, separators=(",", ":"))


def generate_rsa_jwks(module, bits):
    """A new RSA key made by the host's openssl, as a JWKS; the key goes through pipes only."""
    openssl = module.get_bin_path("openssl")
    if not openssl:
        raise HostFileError("format rsa_jwks: the openssl command is not installed on this host; install openssl")
    rc, pem, err = module.run_command([openssl, "genpkey", "-algorithm", "RSA", "-pkeyopt",
                                       "rsa_keygen_bits:%d" % max(bits, RSA_MIN_BITS)])
    if rc != 0:
        raise HostFileError("openssl could not generate an RSA key: %s" % (err.strip().splitlines() or ["?"])[0])
    rc, text, err = module.run_command([openssl, "pkey", "-text", "-noout"], data=pem)
    if rc != 0:
        raise HostFileError("openssl could not read the RSA key it made: %s" % (err.strip().splitlines() or ["?"])[0])
    return jwks_from_parts(rsa_parts(text))


def keep_secret(path, length, value, uid, gid, check_mode, fmt="alphanumeric", make=None):
    """(changed, created, secret) for the file at path; writes nothing in check mode. `make` makes a new secret
    (default: generate(length, fmt))."""
    if make is None:
        def make():
            return generate(length, fmt)
    target = HostFile(path)
    dirs = missing_dirs(target.directory)
    if dirs:
        secret = value if value else make()
        if not check_mode:
            make_dirs(dirs, DIR_MODE, uid, gid)
            with target:
                target.write(secret.encode("utf-8"), FILE_MODE, uid, gid)
        return True, True, secret

    with target:
        data, st = target.read(MAX_SECRET_BYTES)
        if data is None or not data.strip():
            secret = value if value else make()
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


def check_length(length):
    """The problem with a secret's length, or None."""
    if length < MIN_LENGTH:
        return "length: %d is too short for a secret; use %d or more" % (length, MIN_LENGTH)
    if length > MAX_LENGTH:
        return "length: %d is more than the %d this module generates" % (length, MAX_LENGTH)
    return None


def keep_one(module, spec, uid, gid):
    """(changed, created, secret) for one secret (path, length, format, value)."""
    make = None
    if spec["format"] == "rsa_jwks" and module.check_mode:
        # Nothing is stored in check mode: no key is made (a host without openssl yet can still be checked).
        def make():
            return json.dumps({"keys": []})
    elif spec["format"] == "rsa_jwks":
        def make():
            return generate_rsa_jwks(module, spec["length"])
    return keep_secret(spec["path"], spec["length"], spec["value"], uid, gid, module.check_mode,
                       fmt=spec["format"], make=make)


# What describes one secret, at the top level (with path) and in each entry of secrets (with name and path).
ONE_SECRET_ARGS = {
    "length": {"type": "int", "default": 32},
    "value": {"type": "str", "no_log": True},
    "format": {"type": "str", "default": "alphanumeric", "choices": ["alphanumeric", "base64", "rsa_jwks"]},
}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            ONE_SECRET_ARGS,
            **OWNER_ARGS,
            path={"type": "path"},
            # The entries' names and paths are not secret; each one's value is (no_log in ONE_SECRET_ARGS).
            secrets={
                "type": "list", "elements": "dict", "no_log": False,
                "options": dict(ONE_SECRET_ARGS, name={"type": "str", "required": True},
                                path={"type": "path", "required": True}),
            },
        ),
        required_one_of=[("path", "secrets")],
        mutually_exclusive=[("path", "secrets"), ("value", "secrets")],
        supports_check_mode=True,
    )
    params = module.params
    specs = params["secrets"] if params["secrets"] is not None else [params]
    names = [spec["name"] for spec in params["secrets"] or []]
    twice = sorted(set(name for name in names if names.count(name) > 1))
    if twice:
        module.fail_json(msg="secrets: the name %s is given more than once" % ", ".join(twice))
    for spec in specs:
        problem = check_length(spec["length"])
        if problem:
            module.fail_json(msg=problem, path=spec["path"])

    kept = {}
    try:
        uid, gid = resolve_owner(params["owner"], params["group"])
        for spec in specs:
            changed, created, secret = keep_one(module, spec, uid, gid)
            kept[spec.get("name")] = {"changed": changed, "created": created, "secret": secret, "path": spec["path"]}
    except HostFileError as e:
        module.fail_json(msg=str(e), path=spec["path"],
                         changed=any(one["changed"] for one in kept.values()))

    # The result must carry the secrets even when they are the no_log `value`s, which AnsibleModule would mask in the
    # whole result: the invocation is masked here instead, then the values are let through for `secret` alone.
    invocation = dict(params, value=MASKED if params["value"] is not None else None)
    if params["secrets"] is not None:
        invocation["secrets"] = [dict(spec, value=MASKED if spec["value"] is not None else None)
                                 for spec in params["secrets"]]
    for spec in specs:
        if spec["value"]:
            module.no_log_values.discard(spec["value"])
    if params["secrets"] is not None:
        module.exit_json(changed=any(one["changed"] for one in kept.values()), secrets=kept,
                         invocation={"module_args": invocation})
    one = kept[None]
    module.exit_json(changed=one["changed"], created=one["created"], secret=one["secret"], path=params["path"],
                     invocation={"module_args": invocation})


if __name__ == "__main__":
    main()
