#!/usr/bin/env python3
"""The controller side of the ssh scenario (molecule/ssh): the collection as a user gets it, and a user's set-up.

Users run the collection over SSH, as an unprivileged account whose sudo asks for a password, from the built
tarball (or Galaxy), with ``ansible-playbook llmops.ollama.site``. This tool prepares exactly that on the build
machine, in a scratch directory made afresh for each lab run (``build/molecule-ssh``, under the git-ignored
``build/``; never committed):

``secrets/``      0700: the SSH key pair (``id_ed25519``, 0600), the become password and the vault password
                  (0600 each), all generated per run
``galaxy/``       the dependency collections as Galaxy artifacts, packed from the collections that the virtual
                  environment's ``ansible`` package ships (no Galaxy server is reachable here)
``dist/``         the checkout's tarball, ``ansible-galaxy collection build`` (galaxy.yml's build_ignore applies)
``collections/``  empty, then filled by ``ansible-galaxy collection install``: the only collections path of a run
``user/``         what the README's "Use it on your servers" has a user make: ``inventory`` (the SSH lab host),
                  ``group_vars/llm_servers.yml`` (the lab's variables and the vaulted become password),
                  ``ansible.cfg`` (ansible.cfg.example), ``known_hosts``
``logs/``         the whole output of every playbook run, checked for the passwords

``ansible-galaxy`` installs the dependencies from a local stand-in for Galaxy's v3 API (``GalaxyStandIn``): the
same resolver a Galaxy user's install goes through picks the versions and checks them against requirements.yml's
constraints, offline.

Subcommands (molecule/ssh's prepare, converge and side_effect call them; tests/ssh imports the rest):

  labuser.py secrets SCRATCH                  fresh scratch directory, key pair and passwords
  labuser.py collections SCRATCH              tarball and dependencies into the empty collections path
  labuser.py userdir SCRATCH HOST ADDRESS     inventory, group_vars with the vaulted password, ansible.cfg
  labuser.py run SCRATCH LOG [--show] -- COMMAND...
                                              COMMAND in user/ with a user's clean environment; output to
                                              logs/LOG.log, the recap and the tasks that changed printed (the
                                              whole output with --show, its end when it fails), and no
                                              password in the output
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import secrets as token
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
USER = "operator"
HOST_GROUP = "llm_servers"
# The dependency collections come from here: the virtual environment's `ansible` package.
# (Run this tool with the virtual environment's Python.)
SHIPPED = os.path.join(sysconfig.get_paths()["purelib"], "ansible_collections")


def path(scratch, *parts):
    return os.path.join(os.path.abspath(scratch), *parts)


def write_private(name, text):
    """A file only its owner reads (0600 from the start, never world-readable for a moment)."""
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(name, 0o600)


def read(name):
    with open(name, encoding="utf-8") as handle:
        return handle.read()


# ---------------------------------------------------------------------------------------------------------------
# Secrets


def make_secrets(scratch):
    """A fresh scratch directory: the previous run's secrets, collections and logs go."""
    scratch = os.path.abspath(scratch)
    if os.path.isdir(scratch):
        shutil.rmtree(scratch)
    os.makedirs(path(scratch, "secrets"), mode=0o700)
    os.chmod(path(scratch, "secrets"), 0o700)
    for sub in ("galaxy", "dist", "collections", "user", "logs"):
        os.makedirs(path(scratch, sub))
    key = path(scratch, "secrets", "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "llmops-ssh-lab", "-f", key], check=True)
    os.chmod(key, 0o600)
    # Letters and digits only: the password goes through chpasswd on the host and sudo's prompt.
    write_private(path(scratch, "secrets", "become-password"), token.token_hex(16))
    write_private(path(scratch, "secrets", "vault-password"), token.token_hex(24))


def become_password(scratch):
    return read(path(scratch, "secrets", "become-password")).strip()


def vault_password(scratch):
    return read(path(scratch, "secrets", "vault-password")).strip()


# ---------------------------------------------------------------------------------------------------------------
# Collections: dependency artifacts, a Galaxy stand-in, the tarball, the install


def requirements(name=os.path.join(ROOT, "requirements.yml")):
    """{'community.docker': '>=4.0.0', ...} from a requirements.yml."""
    import yaml

    with open(name, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return {entry["name"]: str(entry.get("version", "*")) for entry in data["collections"]}


def manifest(directory):
    with open(os.path.join(directory, "MANIFEST.json"), encoding="utf-8") as handle:
        return json.load(handle)["collection_info"]


def pack_shipped(fqcn, out_dir, shipped=SHIPPED):
    """A Galaxy artifact of the collection the `ansible` package ships, built by `ansible-galaxy collection build`
    from a copy of it with a galaxy.yml made of its MANIFEST.json (the package leaves out some files that the
    original FILES.json lists, so the installed files cannot simply be packed again)."""
    import tempfile

    import yaml

    namespace, name = fqcn.split(".")
    source = os.path.join(shipped, namespace, name)
    info = manifest(source)
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, name)
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "MANIFEST.json",
                                                                     "FILES.json"))
        with open(os.path.join(copy, "galaxy.yml"), "w", encoding="utf-8") as handle:
            yaml.safe_dump({k: v for k, v in info.items() if v not in (None, [], {})}, handle)
        subprocess.run(["ansible-galaxy", "collection", "build", "--output-path", out_dir, copy], check=True,
                       capture_output=True, text=True, env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    artifact = os.path.join(out_dir, "%s-%s-%s.tar.gz" % (namespace, name, info["version"]))
    assert os.path.isfile(artifact), artifact
    return artifact, info


def pack_dependencies(out_dir, wanted=None, shipped=SHIPPED):
    """Artifacts for every collection requirements.yml names and, in turn, every collection those depend on."""
    todo = list(wanted or requirements())
    packed = {}
    while todo:
        fqcn = todo.pop(0)
        if fqcn in packed:
            continue
        if not os.path.isdir(os.path.join(shipped, *fqcn.split("."))):
            raise SystemExit("%s is not in the ansible package of the virtual environment (%s)" % (fqcn, shipped))
        artifact, info = pack_shipped(fqcn, out_dir, shipped)
        packed[fqcn] = info["version"]
        todo.extend(info.get("dependencies") or {})
    return packed


class GalaxyStandIn:
    """Galaxy's v3 collection API, read-only, over the artifacts in one directory; what `ansible-galaxy collection
    install` asks: the API root, a collection, its versions, one version (download URL, sha256, dependencies)
    and the download. Listens on 127.0.0.1 only; `with GalaxyStandIn(dir) as url:` gives the server URL."""

    def __init__(self, directory):
        self.directory = directory
        self.requests = []
        self.index = {}
        for name in sorted(os.listdir(directory)):
            if not name.endswith(".tar.gz"):
                continue
            artifact = os.path.join(directory, name)
            with tarfile.open(artifact) as tar:
                info = json.load(tar.extractfile("MANIFEST.json"))["collection_info"]
            with open(artifact, "rb") as handle:
                digest = hashlib.sha256(handle.read()).hexdigest()
            key = (info["namespace"], info["name"])
            self.index.setdefault(key, {})[info["version"]] = {"file": name, "sha256": digest,
                                                                "dependencies": info.get("dependencies") or {}}
        self.server = None

    def answer(self, url):
        route = url.split("?", 1)[0].strip("/").split("/")
        if route == ["api"]:
            return 200, {"available_versions": {"v3": "v3/"}, "current_version": "v3"}
        if route[:3] == ["api", "v3", "collections"] and len(route) >= 5:
            versions = self.index.get((route[3], route[4]))
            if versions is None:
                return 404, {"errors": [{"code": "not_found", "detail": "Not found."}]}
            base = "/api/v3/collections/%s/%s/" % (route[3], route[4])
            if len(route) == 5:
                return 200, {"namespace": route[3], "name": route[4], "href": base,
                             "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
            if len(route) == 6 and route[5] == "versions":
                data = [{"version": v, "href": "%sversions/%s/" % (base, v)} for v in sorted(versions)]
                return 200, {"meta": {"count": len(data)}, "links": {"first": None, "previous": None, "next": None,
                                                                      "last": None}, "data": data}
            if len(route) == 7 and route[5] == "versions" and route[6] in versions:
                entry = versions[route[6]]
                return 200, {"namespace": {"name": route[3]}, "collection": {"name": route[4]}, "version": route[6],
                             "href": "%sversions/%s/" % (base, route[6]), "download_url": "/download/" + entry["file"],
                             "artifact": {"filename": entry["file"], "sha256": entry["sha256"]},
                             "metadata": {"dependencies": entry["dependencies"]}, "signatures": []}
        return 404, {"errors": [{"code": "not_found", "detail": "Not found."}]}

    def __enter__(self):
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the http.server API)
                stand_in.requests.append(self.path)
                if self.path.startswith("/download/"):
                    name = os.path.basename(self.path)
                    artifact = os.path.join(stand_in.directory, name)
                    if name.endswith(".tar.gz") and os.path.isfile(artifact):
                        with open(artifact, "rb") as handle:
                            body = handle.read()
                        self.send_response(200)
                        self.send_header("Content-Type", "application/gzip")
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                        return
                    status, answer = 404, {"errors": [{"code": "not_found", "detail": "Not found."}]}
                else:
                    status, answer = stand_in.answer(self.path)
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # the requests are kept in stand_in.requests instead
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return "http://127.0.0.1:%d/api/" % self.server.server_address[1]

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def satisfies(version, constraint):
    """Whether a version meets a requirements.yml constraint ('*', '>=4.0.0', '>=1.0.0,<2.0.0', '==1.2.3')."""
    from ansible.utils.version import SemanticVersion
    import operator

    ops = {">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne, ">": operator.gt,
           "<": operator.lt, "=": operator.eq}
    for part in constraint.split(","):
        part = part.strip()
        if part in ("*", ""):
            continue
        match = re.fullmatch(r"(>=|<=|==|!=|>|<|=)?\s*(\S+)", part)
        op = ops[match.group(1) or "=="]
        if not op(SemanticVersion(version), SemanticVersion(match.group(2))):
            return False
    return True


def user_env(scratch, **extra):
    """A user's environment: nothing of molecule's or the build machine's Ansible settings, only the collections
    path filled by ansible-galaxy (not the checkout, not the collections the `ansible` package ships)."""
    env = {
        # The virtual environment's ansible-core is the user's.
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "/usr/bin:/bin")]),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "ANSIBLE_COLLECTIONS_PATH": path(scratch, "collections"),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False",
        "ANSIBLE_GALAXY_CACHE_DIR": path(scratch, "galaxy-cache"),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
    }
    env.update(extra)
    return env


def installed(env):
    """{fqcn: version} that ansible-galaxy lists in the environment's collections path."""
    out = subprocess.run(["ansible-galaxy", "collection", "list", "--format", "json"], env=env, check=True,
                         capture_output=True, text=True).stdout
    found = {}
    for _where, collections in json.loads(out).items():
        for fqcn, info in collections.items():
            found[fqcn] = info["version"]
    return found


def build_tarball(out_dir, source=ROOT):
    subprocess.run(["ansible-galaxy", "collection", "build", "--force", "--output-path", out_dir, source], check=True,
                   env=dict(os.environ, ANSIBLE_NOCOLOR="1"), capture_output=True, text=True)
    built = [n for n in os.listdir(out_dir) if n.startswith("llmops-ollama-") and n.endswith(".tar.gz")]
    assert len(built) == 1, built
    return os.path.join(out_dir, built[0])


def install_collections(scratch):
    """The checkout's tarball and the dependencies, into the empty collections path, as a Galaxy user installs."""
    target = path(scratch, "collections")
    assert not os.listdir(target), "%s is not empty" % target
    packed = pack_dependencies(path(scratch, "galaxy"))
    tarball = build_tarball(path(scratch, "dist"))
    with GalaxyStandIn(path(scratch, "galaxy")) as url:
        env = user_env(scratch, ANSIBLE_GALAXY_SERVER=url)
        for argv in (["ansible-galaxy", "collection", "install", "-r", os.path.join(ROOT, "requirements.yml")],
                     ["ansible-galaxy", "collection", "install", tarball]):
            proc = subprocess.run(argv, env=env, capture_output=True, text=True)
            print("$ " + " ".join(argv) + "\n" + proc.stdout + proc.stderr)
            if proc.returncode:
                raise SystemExit("failed (%d): %s" % (proc.returncode, " ".join(argv)))
    found = installed(user_env(scratch))
    version = manifest_of(tarball)["version"]
    problems = []
    if found.get("llmops.ollama") != version:
        problems.append("llmops.ollama %s installed, %s built" % (found.get("llmops.ollama"), version))
    for fqcn, constraint in requirements().items():
        if not satisfies(found.get(fqcn, "0.0.0"), constraint):
            problems.append("%s %s does not meet requirements.yml's %s" % (fqcn, found.get(fqcn), constraint))
    extra = {c for c in found if not c.startswith("ansible.")} - set(packed) - {"llmops.ollama"}
    if extra:
        problems.append("collections from elsewhere in the path: %s" % sorted(extra))
    if problems:
        raise SystemExit("; ".join(problems))
    print("collections path %s holds only: %s" % (target, ", ".join("%s %s" % kv for kv in sorted(found.items()))))
    return found


def manifest_of(tarball):
    with tarfile.open(tarball) as tar:
        return json.load(tar.extractfile("MANIFEST.json"))["collection_info"]


# ---------------------------------------------------------------------------------------------------------------
# The user's directory


def keyscan(address, known_hosts, timeout=60):
    deadline = time.time() + timeout
    while True:
        proc = subprocess.run(["ssh-keyscan", "-T", "5", address], capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip():
            with open(known_hosts, "w", encoding="utf-8") as handle:
                handle.write(proc.stdout)
            return
        if time.time() > deadline:
            raise SystemExit("no SSH host key from %s: %s" % (address, proc.stderr))
        time.sleep(2)


def vaulted(scratch, name, value):
    """`NAME: !vault |...` from ansible-vault encrypt_string with the run's vault password file."""
    proc = subprocess.run(["ansible-vault", "encrypt_string", "--vault-password-file",
                           path(scratch, "secrets", "vault-password"), "--stdin-name", name],
                          input=value, capture_output=True, text=True, check=True, env=user_env(scratch))
    assert value not in proc.stdout
    return proc.stdout.strip() + "\n"


def make_userdir(scratch, host, address):
    """user/: what the README's block has a user copy into place, made for the SSH lab host."""
    user = path(scratch, "user")
    known_hosts = path(user, "known_hosts")
    keyscan(address, known_hosts)
    key = path(scratch, "secrets", "id_ed25519")
    with open(path(user, "inventory"), "w", encoding="utf-8") as handle:
        handle.write(
            "# The SSH lab host, as inventory.example names a server (made by tests/ssh/labuser.py for this lab run).\n"
            "[%s]\n%s ansible_host=%s\n\n[%s:vars]\nansible_connection=ssh\nansible_user=%s\n"
            "ansible_ssh_private_key_file=%s\n"
            "ansible_ssh_common_args='-o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=%s'\n"
            "ansible_python_interpreter=/usr/bin/python3\n" % (HOST_GROUP, host, address, HOST_GROUP, USER, key, known_hosts))
    os.makedirs(path(user, "group_vars"), exist_ok=True)
    lab_vars = read(os.path.join(ROOT, "lab", "inventory", "group_vars", "%s.yml" % HOST_GROUP))
    write_private(path(user, "group_vars", "%s.yml" % HOST_GROUP),
                  lab_vars.rstrip("\n") + "\n\n# sudo on the lab host asks the operator account for this password"
                  " (ansible-vault encrypt_string; the vault password file is made per lab run).\n"
                  + vaulted(scratch, "ansible_become_password", become_password(scratch)))
    shutil.copy(os.path.join(ROOT, "ansible.cfg.example"), path(user, "ansible.cfg"))


# ---------------------------------------------------------------------------------------------------------------
# A user's playbook run


def recap(output):
    """The PLAY RECAP lines: {host: {'ok': n, 'changed': n, 'failed': n, ...}}."""
    hosts = {}
    for line in output.splitlines():
        match = re.match(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", line.strip())
        if match:
            hosts[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return hosts


def changed_tasks(output):
    """'TASK NAME [host]' for each task that reported a change (so that a failed idempotence names them)."""
    found, task = [], ""
    for line in output.splitlines():
        if line.startswith("TASK ["):
            task = line[len("TASK ["):].split("] ***", 1)[0]
        elif line.startswith("changed: ["):
            found.append("%s [%s]" % (task, line[len("changed: ["):].split("]", 1)[0]))
    return found


def leaked(scratch, text):
    """Which of the run's secrets appear in a text (their names only, never their values)."""
    found = [name for name, value in (("the become password", become_password(scratch)),
                                      ("the vault password", vault_password(scratch))) if value in text]
    private_key = read(path(scratch, "secrets", "id_ed25519")).splitlines()[1]
    if private_key in text:
        found.append("the SSH private key")
    return found


def run(scratch, log, argv, cwd=None):
    """COMMAND in user/ (or cwd) with a user's environment; returns (rc, output). The whole output goes to
    logs/LOG.log; a secret in it fails the run whatever the command's own status."""
    start = time.time()
    proc = subprocess.run(argv, cwd=cwd or path(scratch, "user"), env=user_env(scratch), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    output = proc.stdout
    with open(path(scratch, "logs", log + ".log"), "w", encoding="utf-8") as handle:
        handle.write("$ %s\n%s" % (" ".join(argv), output))
    rc = proc.returncode
    secrets_seen = leaked(scratch, output)
    summary = ["%s: rc=%d, %.0f s, %d lines of output in logs/%s.log" % (log, rc, time.time() - start,
                                                                        output.count("\n"), log)]
    summary += ["%s : %s" % (host, " ".join("%s=%d" % kv for kv in counts.items()))
                for host, counts in recap(output).items()]
    summary += ["changed: %s" % task for task in changed_tasks(output)[:40]]
    if secrets_seen:
        summary.append("SECRET IN THE OUTPUT: %s" % ", ".join(secrets_seen))
        rc = rc or 3
    else:
        summary.append("no password in the output")
    return rc, output, summary


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    command, scratch = argv[0], argv[1]
    if command == "secrets":
        make_secrets(scratch)
    elif command == "collections":
        install_collections(scratch)
    elif command == "userdir":
        make_userdir(scratch, argv[2], argv[3])
    elif command == "run":
        log, rest = argv[2], argv[3:]
        show = rest[:1] == ["--show"]
        if show:
            rest = rest[1:]
        if rest[:1] == ["--"]:
            rest = rest[1:]
        rc, output, summary = run(scratch, log, rest)
        if "SECRET IN THE OUTPUT" not in summary[-1] and (show or rc):
            print(output if show else output[-6000:])
        print("\n".join(summary))
        return rc
    else:
        raise SystemExit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
