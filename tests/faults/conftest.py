"""Fault, bad-input and exposure tests (issue 6). One Debian 12 lab host is converged by site.yml
once for the whole session and every fault is run against it, in file order; a bare second lab
host probes it from the outside. Each test records its figures; the session writes RESULTS.md.

Environment:
  FAULTS_KEEP_HOSTS=1   reuse lab hosts that already exist and leave them at the end (development)
"""
import datetime
import os
import platform
import sys
import time

import pytest

import faultlab as fl

sys.path.insert(0, str(fl.ROOT / "bench"))
sys.path.insert(0, str(fl.ROOT / "tests" / "exposure"))
import provenance  # noqa: E402  (bench/provenance.py)

RESULTS = fl.HERE / "RESULTS.md"
_FIGURES = {}      # nodeid -> {"item", "what", "figures": [(label, value)]}
_OUTCOMES = {}     # nodeid -> passed / failed / xfailed / skipped
_STARTED = time.time()


class Lab:
    """The session's lab: hosts and the variables every converge of the fault host uses."""

    # Known LobeHub secrets (as vault variables would give them), so that the exposure test can look for them in the
    # output and sign in as the admin.
    ADMIN_EMAIL = "admin@lab.example"
    ADMIN_PASSWORD = "faults-admin-password-5e1f0c2a9b"
    SECRETS = {
        "lobechat_admin_password": ADMIN_PASSWORD,
        "lobechat_auth_secret": "faults-auth-secret-0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f",
        "lobechat_key_vaults_secret": "ZmF1bHRzLWtleS12YXVsdHMtc2VjcmV0LTMyLWJ5dGU=",
        "lobechat_postgres_password": "faults-postgres-password-7a8b9c",
    }

    def __init__(self):
        self.vars = dict(self.SECRETS, ollama_models_list=[{"name": fl.SMALL_MODEL}])
        self.converge_seconds = None

    def converge(self, extra=None, **kw):
        v = dict(self.vars)
        v.update(extra or {})
        return fl.run_play(v, **kw)


def _host_up(name, keep):
    exists = fl.sh(["docker", "inspect", name], check=False, timeout=30).returncode == 0
    if exists and keep:
        return
    if exists:
        fl.sh([str(fl.LAB_BIN), "host", "rm", name], timeout=120)
    fl.sh([str(fl.LAB_BIN), "host", "up", name, "--debian", "12"], timeout=180)


@pytest.fixture(scope="session")
def lab():
    """Lab up, the fault host converged once with site.yml, the probe host up; removed at the end."""
    keep = os.environ.get("FAULTS_KEEP_HOSTS") == "1"
    up = fl.sh([str(fl.LAB_BIN), "up"], timeout=900, check=False)
    if up.returncode != 0:
        # `lab up` also manages parts these tests do not use (the mirror registry); what they need
        # is the registry with the lab's images and models.
        if not fl.registry_answers() or fl.sh(["docker", "image", "inspect", "llmops-lab/debian:12"],
                                               check=False).returncode != 0:
            pytest.fail("lab up failed:\n%s%s" % (up.stdout[-2000:], up.stderr[-2000:]))
        print("WARNING: lab up: %s" % up.stderr.strip()[-500:])
    _host_up(fl.HOST, keep)
    _host_up(fl.PROBE, keep)
    session = Lab()
    res = session.converge(timeout=900)
    assert res.rc == 0, "the first converge of %s failed:\n%s" % (fl.HOST, res.tail(80))
    session.converge_seconds = res.seconds
    fl.wait_until(lambda: fl.both_healthy(fl.HOST), 120, "both containers healthy after the first converge")
    yield session
    if not keep:
        for name in (fl.HOST, fl.PROBE):
            fl.sh([str(fl.LAB_BIN), "host", "rm", name], check=False, timeout=120)


@pytest.fixture
def figure(request):
    """figure(item, what) once, then figure.add(label, value) for each measured figure."""
    entry = {"item": "", "what": "", "figures": []}
    _FIGURES[request.node.nodeid] = entry

    class Recorder:
        def __call__(self, item, what):
            entry["item"], entry["what"] = item, what
            return self

        def add(self, label, value):
            entry["figures"].append((label, value))

    return Recorder()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" or (rep.when == "setup" and rep.outcome != "passed"):
        if hasattr(rep, "wasxfail"):
            state = "xfailed" if rep.skipped else "XPASS"
        else:
            state = rep.outcome
        _OUTCOMES[item.nodeid] = state


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def pytest_sessionfinish(session, exitstatus):
    if not _OUTCOMES:
        return
    rows = []
    for nodeid, state in _OUTCOMES.items():
        fig = _FIGURES.get(nodeid, {"item": "", "what": "", "figures": []})
        figures = "; ".join("%s: %s" % (k, v) for k, v in fig["figures"]) or "-"
        rows.append((fig["item"] or "-", nodeid.split("::", 1)[-1], fig["what"] or "-", figures, state, fig["figures"]))
    # By item, then in the order the tests ran (the sort is stable).
    rows.sort(key=lambda r: r[0])
    lines = [
        "# Fault, bad-input and exposure results (issue 6)",
        "",
        "Generated by `.venv/bin/pytest tests/faults` (%s, %s, %d s wall). Lab host `%s` (Debian 12, "
        "Docker inside), converged once by `site.yml`; probe host `%s` on the lab network. "
        "Do not edit: the next run rewrites it."
        % (datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), platform.node(),
           time.time() - _STARTED, fl.HOST, fl.PROBE),
        "",
        "| Item | Test | What was done | Measured | Result |",
        "|---|---|---|---|---|",
    ]
    lines += ["| %s |" % " | ".join(_cell(c) for c in row[:5]) for row in rows]
    lines += ["", "Measured at %s. The Ollama and LobeChat in these runs are the lab's stand-ins "
              "(lab/doubles), not the real programs." % provenance.label_now(), ""]
    RESULTS.write_text("\n".join(lines))
    provenance.save("faults", {
        "wall_s": round(time.time() - _STARTED),
        "rows": [{"item": item, "test": test, "result": state,
                  "figures": [[label, _cell(value)] for label, value in figures]}
                 for item, test, _what, _shown, state, figures in rows],
    })
