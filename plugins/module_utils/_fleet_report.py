# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

"""The fleet report's data model: what each host sent, folded into one versioned document with
the drift found across hosts (docs/report-schema-v1.json describes it).

Measured values (speed, time to first token, free memory and disk) are rounded to two significant
digits, so that run-to-run noise on an unchanged fleet gives the same document.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from ansible_collections.llmops.ollama.plugins.module_utils import _advisories

SCHEMA_ID = "llmops.ollama/fleet-report"
SCHEMA_VERSION = 1
DIGEST_SHORT = 12
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


def significant(value, digits=2):
    """value rounded to `digits` significant digits (an int when it has no fraction left); None stays None."""
    if value is None:
        return None
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return 0
    rounded = round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))
    return int(rounded) if rounded == int(rounded) else rounded


def version_key(text):
    """(major, minor, patch) of a version such as 0.17.1 or v0.18.0-rc1; None when it is not one."""
    match = _VERSION.match(text or "")
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())


def most_common(values):
    """The value more hosts share than any other; None when there is none, or a tie (then no host's value is the
    fleet's, and every host that has one is flagged)."""
    counts = Counter(v for v in values if v is not None).most_common(2)
    if not counts or (len(counts) == 2 and counts[0][1] == counts[1][1]):
        return None
    return counts[0][0]


def image_tag(image):
    """The tag of an image reference (registry:port/repo:tag@digest), or '' when it has none."""
    name = (image or "").split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def image_repository(image):
    """The repository of an image reference, without its tag or digest."""
    name = (image or "").split("@", 1)[0]
    return name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name


def first_line(text, limit=200):
    line = str(text or "").strip().splitlines()[0] if str(text or "").strip() else ""
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _model(entry):
    details = entry.get("details") or {}
    return {
        "name": entry.get("name") or entry.get("model"),
        "digest": entry.get("digest"),
        "size_bytes": entry.get("size"),
        "family": details.get("family"),
        "parameter_size": details.get("parameter_size"),
        "quantization": details.get("quantization_level"),
    }


def _speed(result):
    """The speed of one timed generation from ollama_generate's result, or its error."""
    if not result or result.get("skipped"):
        return None
    # The role registers with failed_when false: a failed generation is one without a response.
    if result.get("failed") or "response" not in result:
        return {"tokens_per_second": None, "first_token_ms": None, "error": first_line(result.get("msg"))}
    total, evaluation = result.get("total_duration"), result.get("eval_duration")
    first = (total - evaluation) / 1e6 if total is not None and evaluation is not None else None
    return {"tokens_per_second": significant(result.get("tokens_per_second")), "first_token_ms": significant(first),
            "error": None}


def _speeds(generate_results):
    """{model name: speed} from the results of the loop over ollama_generate (each item names its model)."""
    speeds = {}
    for result in generate_results or []:
        name = result.get(result.get("ansible_loop_var") or "item")
        if isinstance(name, dict):
            name = name.get("name")
        speed = _speed(result)
        if name and speed is not None:
            speeds[name] = speed
    return speeds


def _address(address):
    return "[%s]" % address if ":" in address else address


def ui_url(entry, container, address):
    """The UI's URL: the one configured, else the first port the container publishes beyond loopback, at the
    host's address when it is published on every address; None when it is on loopback only."""
    if entry.get("url"):
        return entry["url"]
    for port in container.get("ports") or []:
        bound = port.get("host_ip") or ""
        if bound.startswith("127.") or bound == "::1" or not port.get("host_port"):
            continue
        where = address if bound in ("", "0.0.0.0", "::") else bound
        if where:
            return "%s://%s:%s/" % (entry.get("scheme") or "http", _address(where), port["host_port"])
    return None


def front_door_url(front_door, address):
    """https://<the first of the front door's server names, else the host's address>[:port]/; None without either."""
    names = [n for n in front_door.get("server_names") or [] if n]
    where = str(names[0] if names else address or "")
    if not where:
        return None
    port = str(front_door.get("https_port") or 443)
    return "https://%s%s/" % (_address(where), "" if port == "443" else ":" + port)


def _ui(entry, containers, address, door_url, door_ui):
    found = containers[entry["container"]]
    url = ui_url(entry, found, address)
    # Behind the front door the UI publishes no port: users reach it at the front door's URL.
    if not entry.get("url") and door_url and (not door_ui or door_ui == entry["container"]):
        url = door_url
    return {"name": entry.get("name") or entry["container"], "container": entry["container"],
            "url": url, "running": bool(found.get("running"))}


# The usual reasons a host is not reached, each as what an operator can do about it. The first pattern found in the
# connection's or the engine's own words (case-insensitive) wins; the words themselves are kept as the detail.
UNREACHABLE_REASONS = (
    (r"no such container|no container with name or id",
     "The host's container does not exist (container connection): check the inventory name, or create the host again."),
    (r"container (?:\S+ )?is not running|container state improper|exec sessions on running containers",
     "The host's container is stopped (container connection): start it (docker start <host>), then run the report "
     "again."),
    (r"cannot connect to the docker daemon",
     "The controller's Docker engine does not answer, so the container connection cannot reach the host: start "
     "dockerd on the controller."),
    (r"incorrect sudo password|sorry, try again",
     "sudo refused the password: check ansible_become_password (or what you typed for --ask-become-pass)."),
    (r"missing sudo password|a password is required|privilege escalation prompt|a terminal is required",
     "sudo asks for a password: run with --ask-become-pass (-K), or set ansible_become_password (in a vault)."),
    (r"not in the sudoers file|is not allowed to run sudo|may not run sudo",
     "The account may not use sudo on the host: add it to sudoers, or set ansible_user to one that may."),
    (r"interpreter \S* ?was not found|python[0-9.]*'?:? (?:not found|no such file or directory|command not found)",
     "Python 3 is missing on the host, or not where ansible_python_interpreter says: install python3."),
    (r"host key verification failed|remote host identification has changed",
     "The host's SSH key is not the one known_hosts holds: make sure it is the right machine, then update "
     "known_hosts (ssh-keygen -R <host>)."),
    (r"permission denied",
     "SSH refused the login: check ansible_user and its key (ansible_ssh_private_key_file) or password."),
    (r"connection refused",
     "Nothing accepts SSH connections on the host: check that sshd runs there and that ansible_port is right."),
    (r"no route to host|network is unreachable|host is down",
     "There is no network route to the host: it is down, or ansible_host is not its address."),
    (r"could not resolve hostname|name or service not known|name resolution|nodename nor servname",
     "The host's name does not resolve: check ansible_host, or the controller's DNS."),
    (r"timed out|timeout",
     "The connection timed out: the host is down, or a firewall drops its SSH port."),
    (r"connection closed|connection reset|kex_exchange_identification|broken pipe",
     "The host closed the SSH connection: look at sshd's log on the host (MaxStartups, AllowUsers, a restart)."),
    (r"deserialization failed|module failure",
     "The host gave no answer to the report's first module (the connection ended with no output): the host or its "
     "container may have stopped during the run; check that it runs, then run the report again."),
)
_REASONS = [(re.compile(pattern, re.IGNORECASE), sentence) for pattern, sentence in UNREACHABLE_REASONS]
UNREACHABLE_UNKNOWN = "The host could not be reached: the detail gives the connection's own words."


def unreachable_reason(raw, facts):
    """(what an operator can do, the connection's or the engine's own words) for a host that ran no module."""
    texts = [raw.get("unreachable_msg") or facts.get("msg") or ""]
    # Without pipelining a module that never started says MODULE FAILURE; with it, that its result could not be
    # read. Either way the engine's own words are in its stderr (or, from some connections, its stdout).
    texts += [facts.get(key) for key in ("module_stderr", "module_stdout", "stderr")]
    lines = []
    for text in texts:
        line = first_line(text if isinstance(text, str) else "")
        if line and line not in lines:
            lines.append(line)
    words = "\n".join(str(t) for t in texts if isinstance(t, str) and t)
    sentence = next((sentence for pattern, sentence in _REASONS if pattern.search(words)), UNREACHABLE_UNKNOWN)
    return sentence, first_line(" | ".join(lines), limit=600) or "unreachable"


def _judge(name, image, ollama_version, components, data):
    """The advisories of one container's image: the component of meta/advisories.yml it is (by the container's name
    in components, else by its image's repository), the version judged (its tag; for Ollama, the version its API
    gave when the tag is not one) and the advisories affecting it (None: not judged)."""
    if data is None:
        return {"component": None, "version": None, "advisories": None}
    known = data.get("components") or {}
    component = components.get(name) if components.get(name) in known else None
    if component is None:
        component = _advisories.component_of_image(image_repository(image), data)
    if component is None:
        return {"component": None, "version": None, "advisories": None}
    version = image_tag(image)
    if _advisories.version_key(version) is None and component == "ollama" and ollama_version:
        version = ollama_version
    return {"component": component, "version": version or None,
            "advisories": _advisories.known(component, version, data)}


def _container(found, ollama_version, components, data):
    record = {"name": found["name"], "image": found.get("image"), "tag": image_tag(found.get("image")),
              "running": bool(found.get("running")), "status": found.get("status") or None,
              "health": found.get("health") or None, "image_drift": False, "url": None}
    record.update(_judge(found["name"], found.get("image"), ollama_version, components, data))
    return record


def host_advisories(containers):
    """The host's known advisories, one entry per component, version and advisory (two containers of one image, the
    front door and the API guard, count once), in the order of the host's containers."""
    found = []
    for container in containers:
        for advisory in container.get("advisories") or []:
            entry = {"component": container["component"], "version": container["version"], "ids": advisory["ids"],
                     "fixed_in": advisory["fixed_in"]}
            if entry not in found:
                found.append(entry)
    return found


def host_record(name, raw, data=None):
    """One host's part of the report from what the report role gathered on it (see roles/report); data: the
    advisories data (meta/advisories.yml), None when it is not known."""
    raw = raw or {}
    facts = raw.get("host") or {}
    # A host that ran no module is unreachable, whichever way the connection said so: an unreachable result, or
    # (with pipelining, where nothing is copied first) a module that failed before it started.
    reachable = bool(raw.get("reachable")) and "memory" in facts
    record = {"name": name, "reachable": reachable, "error": None, "error_detail": None, "ollama": None, "models": [],
              "running": [], "memory": None, "disk": None, "gpus": [], "containers": [], "ui": [], "advisories": []}
    if not reachable:
        record["error"], record["error_detail"] = unreachable_reason(raw, facts)
        return record
    memory, disk = facts.get("memory") or {}, facts.get("disk") or {}
    if memory:
        record["memory"] = {"total_bytes": memory.get("total_bytes"),
                            "available_bytes": significant(memory.get("available_bytes"))}
    if disk:
        record["disk"] = {"path": disk.get("path"), "total_bytes": significant(disk.get("total_bytes")),
                          "available_bytes": significant(disk.get("available_bytes"))}
    record["gpus"] = [{"vendor": g.get("vendor"), "name": g.get("name"), "memory_total_bytes": g.get("memory_total_bytes")}
                      for g in facts.get("gpus") or []]
    info = raw.get("ollama") or {}
    answered = not info.get("failed") and "models" in info
    containers = {c["name"]: c for c in facts.get("containers") or [] if c.get("name")}
    components = raw.get("components") or {}
    record["containers"] = [_container(c, info.get("version") if answered else None, components, data)
                            for c in sorted(containers.values(), key=lambda c: c["name"])]
    record["advisories"] = host_advisories(record["containers"])
    door = raw.get("front_door") or {}
    door_url = front_door_url(door, raw.get("address")) if door.get("container") in containers else None
    record["ui"] = [_ui(entry, containers, raw.get("address"), door_url, door.get("ui"))
                    for entry in raw.get("ui") or [] if entry.get("container") in containers]
    urls = dict((u["container"], u["url"]) for u in record["ui"])
    if door_url:
        urls[door["container"]] = door_url
    for container in record["containers"]:
        container["url"] = urls.get(container["name"])
    if not answered:
        error = "Ollama API: " + first_line(info.get("msg") or "no answer")
        record["error"] = error if record["error"] is None else record["error"] + "; " + error
        return record
    version = info.get("version")
    record["ollama"] = {"version": version, "below_floor": False, "version_drift": False}
    speeds = _speeds(raw.get("generate"))
    for entry in sorted(info.get("models") or [], key=lambda m: m.get("name") or ""):
        model = _model(entry)
        model["digest_drift"] = False
        model["speed"] = speeds.get(model["name"])
        record["models"].append(model)
    record["running"] = sorted(({"name": r.get("name"), "size_bytes": r.get("size"), "size_vram_bytes": r.get("size_vram")}
                                for r in info.get("running") or []), key=lambda r: r["name"] or "")
    return record


def _fleet_values(hosts):
    answering = [h for h in hosts if h["ollama"]]
    models = sorted({m["name"] for h in answering for m in h["models"]})
    fleet_models = {}
    for name in models:
        digests = [m["digest"] for h in answering for m in h["models"] if m["name"] == name]
        fleet_models[name] = {"digest": most_common(digests), "hosts": len(digests), "digests": len(set(digests))}
    containers = sorted({c["name"] for h in hosts for c in h["containers"]})
    images = {name: most_common([c["image"] for h in hosts for c in h["containers"] if c["name"] == name])
              for name in containers}
    return {"ollama_version": most_common([h["ollama"]["version"] for h in answering]), "models": fleet_models,
            "images": images}


def _drift(hosts, fleet, floor):
    """Flag each host's values in place; the list of drift findings, in host order."""
    drift = []
    floor_key = version_key(floor)
    for host in hosts:
        name = host["name"]
        if host["ollama"]:
            version = host["ollama"]["version"]
            if version != fleet["ollama_version"]:
                host["ollama"]["version_drift"] = True
                drift.append({"kind": "ollama_version", "host": name, "value": version, "fleet": fleet["ollama_version"]})
            key = version_key(version)
            if floor_key is not None and (key is None or key < floor_key):
                host["ollama"]["below_floor"] = True
                drift.append({"kind": "below_floor", "host": name, "value": version, "fleet": floor})
            for model in host["models"]:
                expected = fleet["models"][model["name"]]["digest"]
                if model["digest"] != expected:
                    model["digest_drift"] = True
                    drift.append({"kind": "model_digest", "host": name, "model": model["name"], "value": model["digest"],
                                  "fleet": expected})
        for container in host["containers"]:
            expected = fleet["images"].get(container["name"])
            if container["image"] != expected:
                container["image_drift"] = True
                drift.append({"kind": "image", "host": name, "container": container["name"], "value": container["image"],
                              "fleet": expected})
    return drift


def build(hosts, version_floor, generated_at, title="LLM fleet report", advisories=None):
    """The report document. hosts: {inventory name: what the report role gathered on it}; advisories: the
    collection's advisories data (meta/advisories.yml), which the containers' versions are judged against (None:
    they are not judged)."""
    records = [host_record(name, hosts[name], advisories) for name in sorted(hosts)]
    fleet = _fleet_values(records)
    drift = _drift(records, fleet, version_floor)
    return {
        "schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "title": title,
        "generated_at": generated_at,
        "version_floor": version_floor,
        "summary": {
            "hosts": len(records),
            "reachable": sum(1 for r in records if r["reachable"]),
            "unreachable": sum(1 for r in records if not r["reachable"]),
            "answering": sum(1 for r in records if r["ollama"]),
            "models": len(fleet["models"]),
            "drift": len(drift),
            "advisories": sum(1 for r in records if r["advisories"]),
        },
        "fleet": fleet,
        "hosts": records,
        "drift": drift,
        "unreachable": [{"host": r["name"], "reason": r["error"]} for r in records if not r["reachable"]],
    }


def advisory_text(advisory):
    """CVE-2026-85180 (fixed in 0.33.3), or CVE-2026-7020 (GHSA-x99g-8v8j-25j2) (no release fixes it)."""
    return "%s (%s)" % (advisory["ids"], "fixed in %s" % advisory["fixed_in"] if advisory["fixed_in"]
                        else "no release fixes it")


def findings(doc):
    """What an operator reads first, as lines of text: each unreachable host with what to do and the connection's own
    words, and each host's known advisories by component and version."""
    lines = []
    for host in doc["hosts"]:
        if not host["reachable"]:
            lines.append("%s UNREACHABLE: %s [%s]" % (host["name"], host["error"], host.get("error_detail") or ""))
    for host in doc["hosts"]:
        groups = []
        for advisory in host.get("advisories") or []:
            key = "%s %s" % (advisory["component"], advisory["version"])
            if not groups or groups[-1][0] != key:
                groups.append((key, []))
            groups[-1][1].append(advisory_text(advisory))
        if groups:
            lines.append("%s known advisories: %s" % (host["name"], "; ".join(
                "%s: %s" % (key, ", ".join(texts)) for key, texts in groups)))
    return lines


def same_apart_from_time(old, new):
    """Whether two documents differ only in generated_at."""
    if not isinstance(old, dict):
        return False
    return dict(old, generated_at=None) == dict(new, generated_at=None)
