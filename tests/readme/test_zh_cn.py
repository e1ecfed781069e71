"""README.zh-CN.md stays in step with the English README and the roles (issue 29): its "use it on your servers"
commands are the English block's, in the same order; every other command it shows is one the English README shows;
every variable it names (in backquotes, or as a key of a YAML block) is one a role or playbook reads; every file it
names exists. The last test renames a variable in a copy of the text to show the check catches it."""

import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ZH = ROOT / "README.zh-CN.md"
EN = ROOT / "README.md"

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
TICKED = re.compile(r"`([^`\n]+)`")
VARIABLE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
# Words in backquotes that look like variables but are not: Ansible's own and the recap's.
NOT_VARIABLES = {"changed=0"}


def blocks(text):
    """[(language, body)] of the fenced code blocks."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(text)]


def commands(body):
    """The command lines of a shell block, each without its trailing comment and extra spaces."""
    out = []
    for line in body.splitlines():
        command = re.split(r"\s+#\s", line, maxsplit=1)[0].strip()
        if command:
            out.append(" ".join(command.split()))
    return out


def use_block(text, heading):
    """The first code block after a heading."""
    after = text.split(heading, 1)[1]
    return blocks(after)[0][1]


def known_variables():
    names = set()
    for defaults in ROOT.glob("roles/*/defaults/main.yml"):
        names |= set((yaml.safe_load(defaults.read_text(encoding="utf-8")) or {}).keys())
    for spec in ROOT.glob("roles/*/meta/argument_specs.yml"):
        for entry in (yaml.safe_load(spec.read_text(encoding="utf-8"))["argument_specs"] or {}).values():
            names |= set((entry.get("options") or {}).keys())
    for playbook in list(ROOT.glob("playbooks/**/*.yml")) + [ROOT / "site.yml"]:
        names |= set(re.findall(r"\b(llmops_[a-z0-9_]+)\b", playbook.read_text(encoding="utf-8")))
    return names


def problems(zh_text, en_text, variables):
    """Everything in the Chinese text that is out of step; an empty list when it is in step."""
    found = []
    zh_use = commands(use_block(zh_text, "## 在自己的服务器上使用"))
    en_use = commands(use_block(en_text, "## Use it on your servers"))
    if zh_use != en_use:
        found.append("the commands to use it differ from the English README's: %s != %s" % (zh_use, en_use))
    en_commands = {c for lang, body in blocks(en_text) if lang == "" for c in commands(body)}
    for lang, body in blocks(zh_text):
        if lang == "":
            found += ["a command the English README does not show: %s" % c for c in commands(body) if c not in en_commands]
        elif lang == "yaml":
            found += ["a variable nothing reads: %s" % key for key in (yaml.safe_load(body) or {}) if key not in variables]
    for word in TICKED.findall(zh_text):
        if VARIABLE.match(word) and word not in NOT_VARIABLES and word not in variables:
            found.append("a variable nothing reads: %s" % word)
        elif re.match(r"^[\w.-]+(/[\w.*-]+)+$", word) and not any(ROOT.glob(word)):
            found.append("a file that does not exist: %s" % word)
    return found


def test_the_chinese_quick_start_is_in_step_with_the_english_readme_and_the_roles():
    assert problems(ZH.read_text(encoding="utf-8"), EN.read_text(encoding="utf-8"), known_variables()) == []


def test_the_english_readme_links_the_chinese_quick_start():
    assert "(README.zh-CN.md)" in EN.read_text(encoding="utf-8")


def test_a_renamed_variable_or_a_changed_command_is_caught():
    zh = ZH.read_text(encoding="utf-8")
    en = EN.read_text(encoding="utf-8")
    variables = known_variables()
    renamed = problems(zh.replace("lobechat_admin_email", "lobechat_admin_mail"), en, variables)
    assert "a variable nothing reads: lobechat_admin_mail" in renamed, renamed
    gone = problems(zh, en, variables - {"ollama_models_list"})
    assert "a variable nothing reads: ollama_models_list" in gone, gone
    moved = problems(zh, en.replace("llmops.ollama.rollout", "llmops.ollama.fleet_rollout"), variables)
    assert any(p.startswith("the commands to use it differ") for p in moved), moved
    missing = problems(zh.replace("inventory.example", "inventory.sample"), en, variables)
    assert any("inventory.sample" in p for p in missing), missing
