"""The fleet report on the fleet scenario (issue 15, must-shows 1 and 2).

llmops-fleet-2 is given another digest of qwen2.5:0.5b (its manifest re-serialised: the same
layers, other bytes, so another digest, as a host left on a swapped model shows it) and
llmops-fleet-3 is stopped; then playbooks/report.yml runs on the three hosts. The JSON must match
its schema and list the drift and the unreachable host, the HTML must flag both and load nothing,
headless Chromium must render it to a PNG with no network, and the report must change nothing on
the hosts (same manifests, same loaded models) and give the same state when run again, in check
mode without generation too. conftest.py runs these tests before test_fleet.py's last test, which
breaks the fleet on purpose; should they run after it anyway, the fleet is rolled out again first.
The manifest and the stopped host are put back at the end, for the tests that follow.
The HTML of the first run is kept in build/report-molecule/ (bench/report/screenshot.py renders
docs/report.png from it).
"""

import copy
import hashlib
import json
import os
import re
import subprocess
import sys
import time

import jsonschema
import pytest

PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.abspath(os.path.join(os.path.dirname(__file__), "../../..")))
sys.path.insert(0, os.path.join(PROJECT, "tests/fleet"))
sys.path.insert(0, os.path.join(PROJECT, "tests/unit/plugins"))
sys.path.insert(0, os.path.join(PROJECT, "bench/report"))
from fleet_lab import recap  # noqa: E402
from html_loads import external_loads  # noqa: E402
import screenshot  # noqa: E402  (bench/report/screenshot.py)

INVENTORY = os.path.dirname(os.environ.get("MOLECULE_INVENTORY_FILE", "/nonexistent/x"))
CONVERGE = os.path.join(PROJECT, "molecule/fleet/converge.yml")
REPORT = os.path.join(PROJECT, "playbooks/report.yml")
SCHEMA = os.path.join(PROJECT, "docs/report-schema-v1.json")
OUT = os.path.join(PROJECT, "build", "report-molecule")
ANSWERING = ["llmops-fleet-1", "llmops-fleet-2"]
SWAPPED = "llmops-fleet-2"
# host_vars/llmops-fleet-2.yml holds it on Ollama 0.32.15 (ollama_allow_unsafe_version): below the floor, with the
# advisories meta/advisories.yml gives that version.
HELD, HELD_VERSION = "llmops-fleet-2", "0.32.15"
HELD_ADVISORIES = {"CVE-2026-108836", "CVE-2026-85180"}
STOPPED = "llmops-fleet-3"
FLEET = ANSWERING + [STOPPED]
MODEL = "qwen2.5:0.5b"


def playbook(path, *extra):
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(PROJECT, "build/collections"))
    proc = subprocess.run(["ansible-playbook", "-i", INVENTORY, path, *extra], capture_output=True, text=True, env=env,
                          cwd=PROJECT, timeout=900)
    return proc.returncode, proc.stdout + proc.stderr


def inner(name, *args, data=None):
    """A command inside a lab host."""
    return subprocess.run(["docker", "exec", "-i", name, *args], input=data, capture_output=True, timeout=120,
                          check=False)


def api(name, path):
    code = ("import sys,urllib.request;"
            "print(urllib.request.urlopen('http://127.0.0.1:11434'+sys.argv[1],timeout=60).read().decode())")
    proc = inner(name, "python3", "-c", code, path)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def digest(name):
    return {m["name"]: m["digest"] for m in api(name, "/api/tags")["models"]}.get(MODEL)


def loaded(name):
    return sorted(m["name"] for m in api(name, "/api/ps")["models"])


def rolled_out(name):
    """The host's Ollama runs with the scenario's own settings (an earlier test may have slowed or removed it)."""
    proc = inner(name, "docker", "inspect", "ollama", "--format", "{{.State.Running}} {{json .Config.Env}}")
    out = proc.stdout.decode()
    return proc.returncode == 0 and out.startswith("true ") and "OLLAMA_DOUBLE_TOKEN_DELAY" not in out


def manifest_path(name):
    proc = inner(name, "find", "/var/lib/ollama/models/manifests", "-type", "f", "-path", "*/qwen2.5/0.5b")
    paths = proc.stdout.decode().split()
    assert len(paths) == 1, (name, paths, proc.stderr)
    return paths[0]


def write_file(name, path, data):
    proc = inner(name, "python3", "-c", "import sys;open(sys.argv[1],'wb').write(sys.stdin.buffer.read())", path,
                 data=data)
    assert proc.returncode == 0, proc.stderr


def wait_running(name, limit=90):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        state = inner(name, "systemctl", "is-system-running").stdout.decode().strip()
        if state in ("running", "degraded"):
            return
        time.sleep(2)
    raise AssertionError("%s did not come back within %d s" % (name, limit))


def report_run(*extra, out=OUT):
    rc, output = playbook(REPORT, "-e", "report_dir=" + out, *extra)
    with open(os.path.join(out, "fleet-report.json"), encoding="utf-8") as handle:
        doc = json.load(handle)
    with open(os.path.join(out, "fleet-report.html"), encoding="utf-8") as handle:
        html = handle.read()
    return {"rc": rc, "output": output, "doc": doc, "html": html}


@pytest.fixture(scope="module")
def runs():
    if not all(rolled_out(n) for n in ANSWERING):
        rc, out = playbook(CONVERGE, "--limit", ",".join(ANSWERING))
        assert rc == 0, out[-3000:]
    path = manifest_path(SWAPPED)
    original = inner(SWAPPED, "cat", path).stdout
    swapped = (json.dumps(json.loads(original), indent=2) + "\n").encode()
    assert swapped != original
    before = {n: (digest(n), loaded(n)) for n in ANSWERING}
    write_file(SWAPPED, path, swapped)
    assert subprocess.run(["docker", "stop", "-t", "5", STOPPED], capture_output=True, check=False).returncode == 0
    try:
        first = report_run()
        after_first = {n: (digest(n), loaded(n)) for n in ANSWERING}
        second = report_run()
        checked = report_run("--check", "-e", "report_generate=false", out=os.path.join(OUT, "check"))
        yield {"first": first, "second": second, "check": checked, "swapped": hashlib.sha256(swapped).hexdigest(),
               "before": before, "after_first": after_first}
    finally:
        write_file(SWAPPED, path, original)
        subprocess.run(["docker", "start", STOPPED], capture_output=True, check=False)
        wait_running(STOPPED)
        assert digest(SWAPPED) == hashlib.sha256(original).hexdigest()


def state(doc):
    """The document without its time and what is measured (speeds, free memory and disk)."""
    doc = copy.deepcopy(doc)
    doc.pop("generated_at")
    for host in doc["hosts"]:
        for model in host["models"]:
            model.pop("speed")
        for part in ("memory", "disk"):
            if host[part]:
                host[part].pop("available_bytes")
    return doc


def test_the_report_succeeds_on_a_fleet_with_a_stopped_host(runs):
    rewritten = runs["second"]["doc"]["generated_at"] != runs["first"]["doc"]["generated_at"]
    # The one change a run may make is the report's files on the controller (counted on the first host).
    for run, changed in (("first", 1), ("second", int(rewritten)), ("check", 1)):
        assert runs[run]["rc"] == 0, runs[run]["output"][-3000:]
        hosts = recap(runs[run]["output"])
        assert sorted(hosts) == sorted(FLEET)
        assert all(h["failed"] == 0 and h["unreachable"] == 0 for h in hosts.values()), hosts
        assert sum(h["changed"] for h in hosts.values()) == changed, (run, hosts)


def test_the_json_matches_its_schema(runs):
    with open(SCHEMA, encoding="utf-8") as handle:
        schema = json.load(handle)
    for run in ("first", "second", "check"):
        jsonschema.Draft202012Validator(schema).validate(runs[run]["doc"])


def test_the_json_lists_the_drift_and_the_unreachable_host(runs):
    doc = runs["first"]["doc"]
    assert doc["unreachable"] == [{"host": STOPPED, "reason": doc["unreachable"][0]["reason"]}]
    assert doc["unreachable"][0]["reason"]
    assert doc["summary"]["hosts"] == 3 and doc["summary"]["answering"] == 2
    model_drift = [d for d in doc["drift"] if d["kind"] == "model_digest"]
    assert {d["model"] for d in model_drift} == {MODEL}
    assert {"host": SWAPPED, "value": runs["swapped"]} in [{"host": d["host"], "value": d["value"]} for d in model_drift]
    assert doc["fleet"]["models"][MODEL]["digests"] == 2
    held = {h["name"]: {m["name"]: m for m in h["models"]} for h in doc["hosts"]}
    assert held[SWAPPED][MODEL]["digest"] == runs["swapped"] and held[SWAPPED][MODEL]["digest_drift"]
    assert held[ANSWERING[0]][MODEL]["digest"] == runs["before"][ANSWERING[0]][0]


def test_the_json_has_speed_versions_headroom_and_the_ui(runs):
    for host in runs["first"]["doc"]["hosts"]:
        if host["name"] == STOPPED:
            continue
        assert host["ollama"]["version"] and host["ollama"]["below_floor"] == (host["name"] == HELD), host["ollama"]
        ollama_ids = {i for a in host["advisories"] if a["component"] == "ollama" and a["fixed_in"]
                      for i in re.findall(r"[A-Z]+-[0-9A-Za-z-]+", a["ids"])}
        if host["name"] == HELD:
            assert host["ollama"]["version"] == HELD_VERSION
            assert HELD_ADVISORIES <= ollama_ids, host["advisories"]
        else:
            # The default release: no advisory a release fixes.
            assert not ollama_ids, host["advisories"]
        speed = {m["name"]: m["speed"] for m in host["models"]}[MODEL]
        assert speed["error"] is None and speed["tokens_per_second"] > 0 and speed["first_token_ms"] >= 0
        assert host["memory"]["total_bytes"] > 0 and host["disk"]["available_bytes"] > 0
        # Every container the collection runs on the host, the front door, the guard and LobeHub's stores included.
        assert {c["name"] for c in host["containers"]} >= {"ollama", "lobechat", "front-door", "ollama-guard",
                                                           "lobechat-postgres", "lobechat-redis"}
        # LobeChat publishes no port: its URL is the front door's https://<host>/.
        (url,) = [u["url"] for u in host["ui"] if u["container"] == "lobechat"]
        assert url and url.startswith("https://") and url.endswith("/"), url


def test_the_html_flags_the_drift_and_the_unreachable_host(runs):
    html = runs["first"]["html"]
    assert '<li class="down"><strong>%s</strong> UNREACHABLE' % STOPPED in html
    assert '<th>%s</th><td class="down"' % STOPPED in html
    assert '<td class="drift"><code>%s</code><span class="flag">DRIFT</span>' % runs["swapped"][:12] in html


def test_the_html_flags_the_host_held_below_the_floor_with_its_advisories(runs):
    rows = [row.split("</tr>")[0] for row in runs["first"]["html"].split("<tr") if "<th>%s</th>" % HELD in row]
    flagged = [row for row in rows if "BELOW FLOOR" in row and all(a in row for a in HELD_ADVISORIES)]
    assert flagged, rows
    assert runs["first"]["doc"]["summary"]["advisories"] >= 1


def test_the_html_loads_nothing_from_anywhere(runs):
    assert external_loads(runs["first"]["html"]) == ([], 0)


def test_chromium_renders_the_page_with_no_network(runs):
    width, height = screenshot.render(os.path.join(OUT, "fleet-report.html"), os.path.join(OUT, "fleet-report.png"))
    assert (width, height) == (1100, 1500)
    assert os.path.getsize(os.path.join(OUT, "fleet-report.png")) > 20000


def test_the_report_changes_nothing_on_the_hosts(runs):
    assert {n: runs["after_first"][n][1] for n in ANSWERING} == {n: runs["before"][n][1] for n in ANSWERING}
    assert runs["after_first"][SWAPPED][0] == runs["swapped"]
    assert runs["after_first"][ANSWERING[0]][0] == runs["before"][ANSWERING[0]][0]


def test_the_same_fleet_gives_the_same_report(runs):
    first, second = runs["first"]["doc"], runs["second"]["doc"]
    assert state(second) == state(first)
    # Rewritten (a new time) only when a measured value moved past its two significant digits.
    same = dict(second, generated_at=None) == dict(first, generated_at=None)
    assert (second["generated_at"] == first["generated_at"]) == same


def test_check_mode_without_generation_reports_the_same_state(runs):
    doc = runs["check"]["doc"]
    assert all(m["speed"] is None for h in doc["hosts"] for m in h["models"])
    assert state(doc) == state(runs["first"]["doc"])
