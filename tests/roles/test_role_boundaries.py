"""The role layer's boundaries: no role names another role's variables, and the values the
playbooks share between roles fall back on exactly the owning role's defaults."""

import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").is_file())
CHECKED_DIRS = ("defaults", "vars", "tasks", "handlers", "templates")
TOKEN = re.compile(r"(?<![\w.])(__)?([a-z][a-z0-9_]*)")


def role_variables(role):
    """Every variable a role owns: its defaults and the options of all its argument spec entry points."""
    names = set(yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {})
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    for entry in specs.values():
        names.update(entry.get("options") or {})
    return names


def without_comments(text):
    lines = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        lines.append(re.sub(r"\s+#\s.*$", "", line))
    return "\n".join(lines)


def foreign_names(role, text):
    others = [r for r in ROLES if r != role]
    foreign_public = set().union(*(role_variables(r) for r in others)) - role_variables(role)
    found = set()
    for match in TOKEN.finditer(text):
        private, name = match.groups()
        if private:
            full = "__" + name
            # A private name belongs to the role with the longest matching prefix (ollama_models, not ollama).
            owner = max((r for r in ROLES if full.startswith("__%s_" % r)), key=len, default=None)
            if owner is not None and owner != role:
                found.add(full)
        elif name in foreign_public:
            found.add(name)
    return found


@pytest.mark.parametrize("role", ROLES)
def test_no_role_names_another_roles_variables(role):
    problems = {}
    for sub in CHECKED_DIRS:
        for path in sorted((ROOT / "roles" / role / sub).rglob("*")):
            if path.is_file():
                names = foreign_names(role, without_comments(path.read_text()))
                if names:
                    problems[str(path.relative_to(ROOT))] = sorted(names)
    assert problems == {}, "roles/%s names other roles' variables: %s" % (role, problems)


def test_the_check_sees_a_foreign_variable():
    assert foreign_names("lobechat", "x: \"{{ ollama_port | default(11434) }}\"") == {"ollama_port"}
    assert foreign_names("ollama", "x: \"{{ __ollama_models_plan }}\"") == {"__ollama_models_plan"}
    assert foreign_names("ollama_models", "x: \"{{ __ollama_models_plan }} {{ llmops.ollama.ollama_model }}\"") == set()


FALLBACK = re.compile(r"(\w+) \| default\(('[^']*'|\d+|\[\]|\{\})\)")


def test_shared_values_fall_back_on_the_owning_roles_defaults():
    owners = {}
    for role in ROLES:
        for name, value in (yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}).items():
            owners[name] = value
    shared = (ROOT / "playbooks" / "vars" / "shared.yml").read_text()
    pairs = FALLBACK.findall(shared)
    assert len(pairs) >= 7, pairs
    for name, fallback in pairs:
        assert name in owners, "%s is no role's variable" % name
        assert yaml.safe_load(fallback.strip("'") if fallback.startswith("'") else fallback) == owners[name], \
            "%s falls back on %s in playbooks/vars/shared.yml, its role's default is %r" % (name, fallback, owners[name])
