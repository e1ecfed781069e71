# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run a module's main() in-process with ansible-core's own test hook for module arguments."""

from __future__ import annotations

import contextlib
import json
from unittest import mock

from ansible.module_utils import basic

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.18 has no such hook: give AnsibleModule its arguments as it reads them
    @contextlib.contextmanager
    def patch_module_args(args):
        with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()):
            yield


class ModuleExit(Exception):
    def __init__(self, result, failed):
        super().__init__(result)
        self.result = result
        self.failed = failed


def _exit_json(self, **kwargs):
    kwargs.setdefault("changed", False)
    raise ModuleExit(kwargs, failed=False)


def _fail_json(self, msg, **kwargs):
    kwargs["msg"] = msg
    kwargs["failed"] = True
    raise ModuleExit(kwargs, failed=True)


def run_module(module, args, check_mode=False, diff=False):
    """Return the module's result dict; result['failed'] is True when it called fail_json, and
    result['warnings'] lists what it passed to AnsibleModule.warn(), when anything."""
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    warnings = []
    with patch_module_args(args), \
            mock.patch.object(basic.AnsibleModule, "exit_json", _exit_json), \
            mock.patch.object(basic.AnsibleModule, "fail_json", _fail_json), \
            mock.patch.object(basic.AnsibleModule, "warn", lambda self, warning, **kw: warnings.append(warning)):
        try:
            module.main()
        except ModuleExit as e:
            if warnings:
                e.result["warnings"] = warnings
            return e.result
    raise AssertionError("the module returned without exit_json or fail_json")


def fetch_from_mirror(fake, registry, models_dir, **args):
    """ollama_mirror_fetch: qwen2.5:0.5b from the fake registry into models_dir, unless args say otherwise."""
    from ansible_collections.llmops.ollama.plugins.modules import ollama_mirror_fetch
    args.setdefault("name", "qwen2.5:0.5b")
    args.setdefault("api_url", fake.url)
    args.setdefault("mirror", registry.url)
    args.setdefault("models_dir", str(models_dir))
    return run_module(ollama_mirror_fetch, args)
