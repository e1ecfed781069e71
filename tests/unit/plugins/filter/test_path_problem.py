# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.llmops.ollama.plugins.filter.path_problem import FilterModule, path_problem


@pytest.mark.parametrize("path", ["/var/lib/ollama", "/srv/llm/models", "/data", "/var/lib/ollama/"])
def test_a_dedicated_directory_passes(path):
    assert path_problem(path, "ollama_data_dir") == ""


@pytest.mark.parametrize("path, system", [
    ("/", "/"), ("//", "/"), ("/etc", "/etc"), ("/etc/", "/etc"), ("/var/lib/", "/var/lib"), ("/usr//local", "/usr/local"),
    ("/home", "/home"), ("/root", "/root"), ("/./var", "/var"),
])
def test_a_system_directory_is_refused_naming_option_value_and_directory(path, system):
    message = path_problem(path, "ollama_data_dir")
    assert message.startswith('ollama_data_dir="%s" is the system directory %s;' % (path, system))


@pytest.mark.parametrize("path", ["var/lib/ollama", "", "~/models"])
def test_a_relative_path_is_refused(path):
    assert path_problem(path, "ollama_data_dir") == 'ollama_data_dir="%s" must be an absolute path' % path


def test_a_dotdot_component_is_refused_even_when_it_resolves_somewhere_harmless():
    assert "must not contain a '..' component" in path_problem("/srv/llm/../../etc", "ollama_data_dir")
    assert "must not contain a '..' component" in path_problem("/srv/a/../b", "ollama_data_dir")


def test_a_file_is_judged_by_its_directory():
    assert path_problem("/etc/llmops/lobechat-access-code", "f", kind="file") == ""
    message = path_problem("/etc/lobechat-code", "lobechat_access_code_file", kind="file")
    assert message.startswith('lobechat_access_code_file="/etc/lobechat-code" would keep the file directly in '
                              'the system directory /etc;')
    assert path_problem("/", "f", kind="file") == 'f="/" names no file'


def test_a_non_string_is_refused():
    assert path_problem(None, "x") == "x=None must be an absolute path"


def test_an_unknown_kind_is_an_error():
    with pytest.raises(AnsibleFilterError):
        path_problem("/srv", "x", kind="socket")


def test_the_filter_is_registered():
    assert FilterModule().filters() == {"path_problem": path_problem}
