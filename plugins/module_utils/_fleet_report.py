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
            where = "[%s]" % where if ":" in where else where
            return "%s://%s:%s/" % (entry.get("scheme") or "http", where, port["host_port"])
    return None


def _ui(entry, containers, address):
    found = containers[entry["container"]]
    return {"name": entry.get("name") or entry["container"], "container": entry["container"],
            "url": ui_url(entry, found, address), "running": bool(found.get("running"))}


def unreachable_reason(raw, facts):
    """The first line of what the connection said; for a module that never started, its stderr."""
    msg = raw.get("unreachable_msg") or facts.get("msg") or ""
    # Without pipelining a module that never started says MODULE FAILURE; with it, that its result
    # could not be read. Either way the engine's own words are in its stderr.
    never_started = str(msg).startswith("MODULE FAILURE") or "deserialization failed" in str(msg)
    if never_started and facts.get("module_stderr"):
        msg = facts["module_stderr"]
    return first_line(msg) or "unreachable"


def host_record(name, raw):
    """One host's part of the report from what the report role gathered on it (see roles/report)."""
    raw = raw or {}
    facts = raw.get("host") or {}
    # A host that ran no module is unreachable, whichever way the connection said so: an unreachable result, or
    # (with pipelining, where nothing is copied first) a module that failed before it started.
    reachable = bool(raw.get("reachable")) and "memory" in facts
    record = {"name": name, "reachable": reachable, "error": None, "ollama": None, "models": [],
              "running": [], "memory": None, "disk": None, "gpus": [], "containers": [], "ui": []}
    if not reachable:
        record["error"] = unreachable_reason(raw, facts)
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
    containers = {c["name"]: c for c in facts.get("containers") or [] if c.get("name")}
    record["containers"] = [{"name": c["name"], "image": c.get("image"), "tag": image_tag(c.get("image")),
                             "running": bool(c.get("running")), "image_drift": False}
                            for c in sorted(containers.values(), key=lambda c: c["name"])]
    record["ui"] = [_ui(entry, containers, raw.get("address")) for entry in raw.get("ui") or []
                    if entry.get("container") in containers]
    info = raw.get("ollama") or {}
    if info.get("failed") or "models" not in info:
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


def build(hosts, version_floor, generated_at, title="LLM fleet report"):
    """The report document. hosts: {inventory name: what the report role gathered on it}."""
    records = [host_record(name, hosts[name]) for name in sorted(hosts)]
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
        },
        "fleet": fleet,
        "hosts": records,
        "drift": drift,
        "unreachable": [{"host": r["name"], "reason": r["error"]} for r in records if not r["reachable"]],
    }


def same_apart_from_time(old, new):
    """Whether two documents differ only in generated_at."""
    if not isinstance(old, dict):
        return False
    return dict(old, generated_at=None) == dict(new, generated_at=None)
