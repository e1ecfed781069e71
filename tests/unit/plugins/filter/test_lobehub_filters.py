# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lobechat role's refusals (issues 16, 26): LobeChat 1.x and LobeHub below the floor of meta/advisories.yml (2.3.6)
named with their advisories, the
ACCESS_CODE-era variables LobeHub 2.x's start refuses named with what replaces each, and the variables the role sets."""

from __future__ import annotations

import pytest

from ansible_collections.llmops.ollama.plugins.filter.lobehub_env_problem import FilterModule as EnvFilters
from ansible_collections.llmops.ollama.plugins.filter.lobehub_env_problem import lobehub_env_problem
from ansible_collections.llmops.ollama.plugins.filter.image_advisories import image_advisories

REPO = "docker.io/lobehub/lobehub"
UNSAFE = dict(unsafe_option="lobechat_allow_unsafe_version")


def image(tag, digest="", repository=REPO, **kwargs):
    result = image_advisories(repository, "lobechat_image", "lobehub", tag=tag, digest=digest, **dict(UNSAFE, **kwargs))
    assert result["warnings"] == []
    return "; ".join(result["problems"])


def test_the_filters_are_registered():
    assert EnvFilters().filters() == {"lobehub_env_problem": lobehub_env_problem}


@pytest.mark.parametrize("tag", ["2.3.6", "v2.3.6", "2.4.0", "3.0.0"])
def test_releases_with_the_fixes_pass(tag):
    assert image(tag) == ""


@pytest.mark.parametrize("tag", ["1.143.2", "1.0.0", "v1.99.1"])
def test_lobechat_1x_is_refused_naming_both_advisories(tag):
    message = image(tag)
    assert message.startswith('lobechat_image_tag="%s" is LobeChat 1.x' % tag)
    assert "CVE-2026-39411" in message and "CVE-2026-54157" in message
    assert "lobechat_allow_unsafe_version: true" in message


@pytest.mark.parametrize("tag, named, not_named", [
    ("2.2.19", ["CVE-2026-142235"], ["CVE-2026-54157", "CVE-2026-39411", "CVE-2026-120315"]),
    ("2.3.6-rc1", ["CVE-2026-142235"], ["CVE-2026-54157"]),
    ("2.1.56", ["CVE-2026-142235", "CVE-2026-54157"], ["CVE-2026-39411", "CVE-2026-120315"]),
    ("2.1.48", ["CVE-2026-142235", "CVE-2026-54157", "CVE-2026-120315"], ["CVE-2026-39411"]),
    # The advisory's range for the forgeable access code runs to 2.1.47 (the collection once said 1.x only).
    ("2.0.0", ["CVE-2026-142235", "CVE-2026-54157", "CVE-2026-120315", "CVE-2026-39411"], []),
])
def test_2x_below_the_floor_is_refused_naming_the_advisories_of_that_release(tag, named, not_named):
    message = image(tag)
    assert message.startswith('lobechat_image_tag="%s" is below the minimum 2.3.6, with the known advisories ' % tag)
    assert all(cve in message for cve in named), message
    assert not any(cve in message for cve in not_named), message
    assert "use 2.3.6 or newer, or set lobechat_allow_unsafe_version: true" in message


def test_the_opt_in_lets_an_old_release_through():
    assert image("1.143.2", allow_unsafe=True) == ""
    assert image("2.1.56", allow_unsafe="true") == ""


def test_the_image_grammar_is_checked_as_for_every_role():
    assert "holds more than a repository" in image("2.3.6", repository=REPO + ":2.3.6")
    assert "lobechat_image_digest" in image("2.3.6", digest="sha256:xyz")
    assert "is not a version" in image("latest")
    # A digest alone says nothing of the release behind it.
    assert "cannot be judged" in image("", digest="sha256:" + "ab" * 32)
    assert image("2.3.6", digest="sha256:" + "ab" * 32) == ""


@pytest.mark.parametrize("name, expected", [
    ("ACCESS_CODE", "lobechat_admin_email"),
    ("NEXT_PUBLIC_SERVICE_MODE", "server database"),
    ("NEXTAUTH_SECRET", "Better Auth"),
    ("NEXT_AUTH_SSO_PROVIDERS", "Better Auth"),
    ("CLERK_SECRET_KEY", "lobechat_allowed_emails"),
    ("AUTH_URL", "lobechat_app_url"),
    ("OIDC_JWKS_KEY", "JWKS_KEY"),
    ("AZURE_AD_CLIENT_ID", "AUTH_MICROSOFT_ID"),
])
def test_access_code_era_variables_are_refused_with_their_replacement(name, expected):
    message = lobehub_env_problem({name: "sneaky-value-123"}, "lobechat_extra_env")
    assert message.startswith("lobechat_extra_env sets %s, a LobeChat 1.x variable" % name)
    assert expected in message
    assert "sneaky-value-123" not in message


def test_variables_the_role_sets_are_refused_and_others_pass():
    managed = ["AUTH_ALLOWED_EMAILS", "DATABASE_URL"]
    assert lobehub_env_problem({"AUTH_ALLOWED_EMAILS": "", "TZ": "UTC"}, "lobechat_extra_env", managed=managed) == (
        "lobechat_extra_env sets AUTH_ALLOWED_EMAILS, which the role sets itself; use the lobechat_* variables")
    assert lobehub_env_problem({"TZ": "UTC", "HTTP_PROXY": "http://proxy:3128"}, "lobechat_extra_env",
                               managed=managed) == ""
    assert "must be a mapping" in lobehub_env_problem(["ACCESS_CODE"], "lobechat_extra_env")
