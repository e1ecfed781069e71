# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

"""What the lobechat role refuses about a LobeHub release and its environment, before any host changes.

- Releases: judged against meta/advisories.yml like every image (module_utils/_advisories.py).
- Variables: LobeHub 2.x's start (scripts/_shared/checkDeprecatedAuth.js) exits 1 when any ACCESS_CODE-era or
  NextAuth-era variable is set. The role refuses them first, naming what replaces each one in 2.x and in the role.
"""

from __future__ import annotations

from ansible_collections.llmops.ollama.plugins.module_utils._image_ref import quoted

# The 2.x settings of the role that replace each group of 1.x variables.
_ACCOUNTS = ("LobeHub 2.x signs users in with e-mail and password (Better Auth): set lobechat_admin_email (the "
             "admin is created by the role; its password is lobechat_admin_password from a vault, or generated and "
             "kept in <lobechat_secret_dir>/admin-password) and lobechat_allowed_emails for the other users who may "
             "sign up (docs/lobehub-2.md)")
DEPRECATED_ROLE_VARIABLES = ("lobechat_access_code", "lobechat_access_code_file", "lobechat_access_code_length")
_EXACT = {
    "ACCESS_CODE": "ACCESS_CODE is gone in 2.x (its start exits on it); " + _ACCOUNTS,
    "NEXT_PUBLIC_SERVICE_MODE": "2.x runs only with its server database, which the role sets up; remove it",
    "NEXT_PUBLIC_ENABLE_BETTER_AUTH": "Better Auth is on whenever AUTH_SECRET is set, which the role does; remove it",
    "AUTH_URL": "the authentication URL comes from the request in 2.x; set lobechat_app_url to the URL users open",
    "NEXT_PUBLIC_AUTH_URL": "the authentication URL comes from the request in 2.x; set lobechat_app_url to the URL "
                            "users open",
    "OIDC_JWKS_KEY": "renamed JWKS_KEY in 2.x",
    "ENABLE_MAGIC_LINK": "renamed AUTH_ENABLE_MAGIC_LINK in 2.x (it needs SMTP)",
    "NEXT_PUBLIC_ENABLE_MAGIC_LINK": "renamed AUTH_ENABLE_MAGIC_LINK in 2.x (it needs SMTP)",
    "NEXT_PUBLIC_AUTH_EMAIL_VERIFICATION": "renamed AUTH_EMAIL_VERIFICATION in 2.x (it needs SMTP)",
    "NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY": "Clerk is gone in 2.x; " + _ACCOUNTS,
    "CLERK_SECRET_KEY": "Clerk is gone in 2.x; " + _ACCOUNTS,
    "CLERK_WEBHOOK_SECRET": "Clerk is gone in 2.x; " + _ACCOUNTS,
    "AUTH_AZURE_AD_ID": "renamed AUTH_MICROSOFT_ID in 2.x",
    "AUTH_AZURE_AD_SECRET": "renamed AUTH_MICROSOFT_SECRET in 2.x",
    "AUTH_AZURE_AD_TENANT_ID": "no longer needed in 2.x",
    "AZURE_AD_CLIENT_ID": "renamed AUTH_MICROSOFT_ID in 2.x",
    "AZURE_AD_CLIENT_SECRET": "renamed AUTH_MICROSOFT_SECRET in 2.x",
    "AZURE_AD_TENANT_ID": "no longer needed in 2.x",
    "ZITADEL_CLIENT_ID": "renamed AUTH_ZITADEL_ID in 2.x",
    "ZITADEL_CLIENT_SECRET": "renamed AUTH_ZITADEL_SECRET in 2.x",
    "ZITADEL_ISSUER": "renamed AUTH_ZITADEL_ISSUER in 2.x",
    "AUTH_MICROSOFT_ENTRA_ID_BASE_URL": "no longer needed in 2.x",
    "AUTH_MICROSOFT_ENTRA_ID_ID": "renamed AUTH_MICROSOFT_ID in 2.x",
    "AUTH_MICROSOFT_ENTRA_ID_SECRET": "renamed AUTH_MICROSOFT_SECRET in 2.x",
    "AUTH_MICROSOFT_ENTRA_ID_TENANT_ID": "no longer needed in 2.x",
}
_NEXTAUTH = "NextAuth is gone in 2.x (Better Auth replaces it; the role sets AUTH_SECRET); " + _ACCOUNTS


def deprecated_variable(name):
    """What replaces an ACCESS_CODE-era environment variable in 2.x, or None for any other name."""
    if name in _EXACT:
        return _EXACT[name]
    if name.startswith("NEXT_AUTH") or name.startswith("NEXTAUTH"):
        return _NEXTAUTH
    return None


def env_problems(env, option, managed=()):
    """Every problem of the extra environment `env` (the variable `option`): ACCESS_CODE-era names, each with what
    replaces it, and names the role sets itself."""
    if not isinstance(env, dict):
        return ["%s=%s must be a mapping of environment variables" % (option, quoted(env))]
    problems = []
    for name in sorted(env):
        why = deprecated_variable(str(name))
        if why:
            problems.append("%s sets %s, a LobeChat 1.x variable that LobeHub 2.x refuses to start with: %s"
                            % (option, name, why))
    overridden = sorted(str(name) for name in env if name in set(managed))
    if overridden:
        problems.append("%s sets %s, which the role sets itself; use the lobechat_* variables"
                        % (option, ", ".join(overridden)))
    return problems
