"""The README's "Use it on your servers" block, read out of README.md and run line by line against the SSH lab host
of molecule/ssh (after its converge), so that a wrong command in the README fails CI.

The commands run in a copy of the checkout (what a user who cloned the repository has; nothing is written into the
checkout itself), with a user's environment (tests/ssh/labuser.py: no molecule, no checkout collections path) and
an empty collections path, so `ansible-galaxy collection install` fills it and `ansible-playbook` finds the
collection only there. The commands are run as written except for this substitution table, the only adaptation:

| In the README                      | Replaced by                                   | Why                                          |
|------------------------------------|-----------------------------------------------|----------------------------------------------|
| `inventory.example`                | build/molecule-ssh/user/inventory             | the inventory file: the SSH lab host's       |
|                                    |                                               | address, `operator`, this run's key          |
| `examples/group_vars`              | build/molecule-ssh/user/group_vars            | the vault file: the lab's registry, images,  |
|                                    |                                               | models and UI settings, and the become       |
|                                    |                                               | password vaulted with encrypt_string         |
| `llmops-ollama-*.tar.gz`           | (none: the README's own `collection build`    | the collection tarball path: built into the  |
|                                    | writes it into the copy's directory)          | directory the commands run in                |

and this environment, which the README leaves to the user's machine: ANSIBLE_COLLECTIONS_PATH (an empty
directory), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=False (not the collections the virtual environment's `ansible`
package ships), ANSIBLE_GALAXY_SERVER (tests/ssh/labuser.py's stand-in for Galaxy's API, serving the dependency
collections packed from that package: no Galaxy server is reachable here) and ANSIBLE_VAULT_PASSWORD_FILE (this
run's vault password file, which a user gives as --vault-password-file or in ansible.cfg).

LLMOPS_README names another README to run instead (to show that a wrong command fails: see tests/ssh/README.md).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labuser  # noqa: E402

SCRATCH = os.environ.get("LLMOPS_SSH_SCRATCH", os.path.join(labuser.ROOT, "build", "molecule-ssh"))
README = os.environ.get("LLMOPS_README", os.path.join(labuser.ROOT, "README.md"))
HEADING = "## Use it on your servers"
# The substitution table above, as the test applies it (whole words only).
SUBSTITUTIONS = {
    "inventory.example": os.path.join(SCRATCH, "user", "inventory"),
    "examples/group_vars": os.path.join(SCRATCH, "user", "group_vars"),
}
# Left out of the copy of the checkout: the git directory and what .gitignore names (a clone has none of it).
NOT_IN_A_CLONE = {".git", ".venv", "build", ".cache", ".pytest_cache", "tests/output"}


def not_in_a_clone(directory, names):
    rel = os.path.relpath(directory, labuser.ROOT)
    return {name for name in names if os.path.normpath(os.path.join(rel, name)) in NOT_IN_A_CLONE
            or name == "__pycache__" or name.endswith((".pyc", ".tar.gz"))}

pytestmark = pytest.mark.skipif(not os.path.isfile(os.path.join(SCRATCH, "user", "inventory")),
                                reason="run by molecule/ssh after its prepare (no %s/user/inventory)" % SCRATCH)


def readme_block(text):
    """The commands of the first fenced block after the heading, comments and blank lines left out."""
    section = text.split(HEADING + "\n", 1)[1]
    match = re.match(r"\s*```[a-z]*\n(.*?)\n```", section, re.S)
    assert match, "no fenced block right after %r in %s" % (HEADING, README)
    commands = []
    for line in match.group(1).splitlines():
        command = re.sub(r"(^|\s+)#.*$", "", line).strip()
        if command:
            commands.append(command)
    return commands


def substitute(command):
    for word, replacement in SUBSTITUTIONS.items():
        command = re.sub(r"(?<![\w./-])%s(?![\w.-])" % re.escape(word), replacement, command)
    return command


@pytest.fixture(scope="module")
def commands():
    with open(README, encoding="utf-8") as handle:
        return readme_block(handle.read())


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A copy of the checkout as a clone has it, and an empty collections path beside it."""
    base = tmp_path_factory.mktemp("readme")
    checkout = base / "llmops-ollama"
    shutil.copytree(labuser.ROOT, checkout, ignore=not_in_a_clone, symlinks=True)
    (base / "collections").mkdir()
    return base


@pytest.fixture(scope="module")
def galaxy():
    with labuser.GalaxyStandIn(os.path.join(SCRATCH, "galaxy")) as url:
        yield url


def environment(clone, galaxy):
    return labuser.user_env(SCRATCH, ANSIBLE_COLLECTIONS_PATH=str(clone / "collections"), ANSIBLE_GALAXY_SERVER=galaxy,
                            ANSIBLE_GALAXY_CACHE_DIR=str(clone / "galaxy-cache"),
                            ANSIBLE_VAULT_PASSWORD_FILE=os.path.join(SCRATCH, "secrets", "vault-password"))


def run_line(command, clone, galaxy, log):
    """One line of the block through bash (`&&` and globs as a user's shell has them), in the copy of the checkout.
    Its whole output goes to build/molecule-ssh/logs/LOG.log; returns (rc, output)."""
    proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", substitute(command)], cwd=clone / "llmops-ollama",
                          env=environment(clone, galaxy), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=1800)
    with open(os.path.join(SCRATCH, "logs", log + ".log"), "w", encoding="utf-8") as handle:
        handle.write("$ %s\n%s" % (substitute(command), proc.stdout))
    assert labuser.leaked(SCRATCH, proc.stdout) == [], "a secret in the output of: %s" % command
    return proc.returncode, proc.stdout


def test_the_block_installs_the_collection_and_runs_its_playbooks_by_name(commands):
    """What makes the block a Galaxy or tarball user's: the collection is installed, and its playbooks are run by
    their full names, not from a checkout."""
    playbook_runs = [c for c in commands if c.startswith("ansible-playbook ")]
    assert any("collection install" in c for c in commands), commands
    assert [c.split()[-1] for c in playbook_runs] == ["llmops.ollama.site", "llmops.ollama.rollout"], playbook_runs
    assert all(word in " ".join(commands) for word in SUBSTITUTIONS), "a substituted file is no longer in the block"


def test_every_command_of_the_block_succeeds_against_the_ssh_lab_host(commands, clone, galaxy):
    for number, command in enumerate(commands, 1):
        rc, output = run_line(command, clone, galaxy, "readme-%d" % number)
        assert rc == 0, "README line %d failed (rc %d): %s\n%s" % (number, rc, command, output[-4000:])
        if command.startswith("ansible-playbook "):
            counts = labuser.recap(output)
            assert counts and all(c["failed"] == 0 and c["unreachable"] == 0 for c in counts.values()), counts
            if command.endswith("llmops.ollama.site"):
                # The host was converged already: the README promises that a second run changes nothing.
                assert all(c["changed"] == 0 for c in counts.values()), (command, counts)
    installed = labuser.installed(environment(clone, galaxy))
    assert "llmops.ollama" in installed and not os.path.islink(
        clone / "collections" / "ansible_collections" / "llmops" / "ollama"), installed


def test_a_misspelled_playbook_in_the_block_would_fail(commands, clone, galaxy):
    """The runner does not swallow a failure: the site line with the playbook's name misspelled exits non-zero."""
    site = [c for c in commands if c.endswith("llmops.ollama.site")][0]
    rc, output = run_line(site.replace("llmops.ollama.site", "llmops.ollama.stie"), clone, galaxy, "readme-misspelled")
    assert rc != 0 and "could not be found" in output, output[-2000:]
