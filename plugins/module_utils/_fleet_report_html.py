# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

"""The fleet report as one self-contained HTML page: inline CSS and SVG, no script, nothing loaded
from anywhere (the page must open on an air-gapped laptop and print as it shows)."""

from __future__ import annotations

from html import escape

from ansible_collections.llmops.ollama.plugins.module_utils._fleet_report import DIGEST_SHORT

CSS = """
:root{--bad:#b71c1c;--bad-bg:#fdecea;--warn:#8a5a00;--warn-bg:#fff4d6;--ok:#1b5e20;--ok-bg:#e8f5e9;--line:#d0d4d9;
--muted:#5f6670;--bar:#1565c0}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:#1d2228;margin:0 auto;
max-width:1100px;padding:12px}
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.1em;margin:1.4em 0 .5em;border-bottom:1px solid var(--line)}
.meta{color:var(--muted);margin:0}
.badges{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:6px}
.badges li{padding:2px 10px;border-radius:12px;background:var(--ok-bg);color:var(--ok);font-weight:600}
.badges li.bad{background:var(--bad-bg);color:var(--bad)}.badges li.warn{background:var(--warn-bg);color:var(--warn)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{border:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top}
thead th{background:#f3f5f7}
tr.fleet td,tr.fleet th{background:#f7f9fb;font-style:italic}
code{font:.9em ui-monospace,Menlo,Consolas,monospace}
td.drift,li.drift{background:var(--bad-bg);color:var(--bad)}
td.warn,li.warn{background:var(--warn-bg);color:var(--warn)}
td.missing{color:var(--muted)}
td.down,li.down{background:var(--bad-bg);color:var(--bad);font-weight:600}
.flag{display:inline-block;font-size:.75em;font-weight:700;padding:0 4px;border:1px solid currentColor;border-radius:3px;
margin-left:4px}
.speed{display:block;color:var(--muted);font-size:.85em}
.detail{display:block;color:var(--muted);font:.82em ui-monospace,Menlo,Consolas,monospace;word-break:break-word}
td.detail{display:table-cell}
ul.advisories{margin:0;padding-left:1.1em}
ul.findings{padding-left:0;list-style:none}ul.findings li{padding:4px 8px;margin:3px 0;border-radius:4px}
svg{width:100%;height:auto;max-width:560px;display:block}
svg text{font:13px system-ui,sans-serif;fill:#1d2228}
@media (max-width:600px){body{font-size:14px;padding:8px}th,td{padding:3px 4px}}
@media print{body{max-width:none;padding:0;font-size:11px}.scroll{overflow:visible}
section{break-inside:avoid}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def _e(value):
    return escape("" if value is None else str(value), quote=True)


def _gib(value):
    return "-" if value is None else "%.1f GiB" % (value / 2 ** 30)


def _short(digest):
    return (digest or "")[:DIGEST_SHORT] or "-"


def _header(doc):
    s = doc["summary"]
    badges = ['<li>%d hosts</li>' % s["hosts"], '<li>%d answering</li>' % s["answering"],
              '<li>%d models</li>' % s["models"]]
    badges.append('<li class="%s">%d unreachable</li>' % ("bad" if s["unreachable"] else "", s["unreachable"]))
    badges.append('<li class="%s">%d drift findings</li>' % ("bad" if s["drift"] else "", s["drift"]))
    if "advisories" in s:
        # Red while a release fixes one of them (an upgrade is due), amber when only advisories no release fixes remain.
        fixable = any(a["fixed_in"] for h in doc["hosts"] for a in h.get("advisories") or [])
        badges.append('<li class="%s">%d hosts with known advisories</li>' % (
            "bad" if fixable else "warn" if s["advisories"] else "", s["advisories"]))
    return ('<header><h1>%s</h1><p class="meta">Generated %s &middot; schema %s v%s &middot; Ollama version floor %s</p>'
            '<ul class="badges">%s</ul></header>' % (
                _e(doc["title"]), _e(doc["generated_at"]), _e(doc["schema"]), _e(doc["schema_version"]),
                _e(doc["version_floor"]), "".join(badges)))


def _fleet_value(value, code=True):
    if value is None:
        return "no value most hosts share"
    return "<code>%s</code>" % _e(_short(value) if code else value)


def _finding(d):
    host = "<strong>%s</strong>" % _e(d["host"])
    if d["kind"] == "model_digest":
        return "%s: model %s has digest <code>%s</code>; the fleet: %s" % (
            host, _e(d["model"]), _e(_short(d["value"])), _fleet_value(d["fleet"]))
    if d["kind"] == "ollama_version":
        return "%s: Ollama %s; the fleet: %s" % (host, _e(d["value"]), _fleet_value(d["fleet"], code=False))
    if d["kind"] == "below_floor":
        return "%s: Ollama %s is below the version floor %s" % (host, _e(d["value"]), _e(d["fleet"]))
    return "%s: container %s runs <code>%s</code>; the fleet: %s" % (
        host, _e(d["container"]), _e(d["value"]), _fleet_value(d["fleet"], code=False))


def _problems(doc):
    parts = ['<section id="unreachable"><h2>Unreachable hosts</h2>']
    if doc["unreachable"]:
        details = {h["name"]: h.get("error_detail") for h in doc["hosts"]}
        parts.append('<ul class="findings">%s</ul>' % "".join(
            '<li class="down"><strong>%s</strong> UNREACHABLE: %s%s</li>' % (
                _e(u["host"]), _e(u["reason"]), _detail(details.get(u["host"]))) for u in doc["unreachable"]))
    else:
        parts.append("<p>None: every host answered.</p>")
    parts.append('</section><section id="drift"><h2>Drift</h2>')
    if doc["drift"]:
        parts.append('<ul class="findings">%s</ul>' % "".join(
            '<li class="%s">%s<span class="flag">DRIFT</span></li>' % (
                "drift" if d["kind"] in ("model_digest", "below_floor") else "warn", _finding(d)) for d in doc["drift"]))
    else:
        parts.append("<p>None: every host runs the fleet's versions and digests.</p>")
    parts.append("</section>")
    return "".join(parts)


def _detail(text):
    return '<span class="detail">%s</span>' % _e(text) if text else ""


def _advisory(a):
    fix = "fixed in %s" % _e(a["fixed_in"]) if a["fixed_in"] else "<strong>no release fixes it</strong>"
    return "%s (%s)" % (_e(a["ids"]), fix)


def _advisories_cell(host):
    """The host's known advisories by component and version, in one cell: red while a release fixes one of them
    (upgrade), amber when only advisories no release fixes remain."""
    found = host.get("advisories") or []
    unjudged = ["%s (tag %s)" % (c["name"], c["tag"] or "none") for c in host["containers"]
                if c.get("component") and c.get("advisories") is None]
    if not found:
        text = "none known" + (_detail("not judged: " + ", ".join(unjudged)) if unjudged else "")
        return '<td class="missing">%s</td>' % text if unjudged else "<td>%s</td>" % text
    groups = []
    for a in found:
        key = (a["component"], a["version"])
        if not groups or groups[-1][0] != key:
            groups.append((key, []))
        groups[-1][1].append(a)
    items = "".join("<li><strong>%s %s</strong>: %s</li>" % (_e(component), _e(version), ", ".join(_advisory(a) for a in group))
                    for (component, version), group in groups)
    fixable = any(a["fixed_in"] for a in found)
    return '<td class="%s"><ul class="advisories">%s</ul>%s</td>' % (
        "drift" if fixable else "warn", items, _detail("not judged: " + ", ".join(unjudged)) if unjudged else "")


def _speed_text(speed):
    if not speed:
        return ""
    if speed["error"]:
        return '<span class="speed">no answer</span>'
    return '<span class="speed">%s tok/s &middot; first token %s ms</span>' % (
        _e(speed["tokens_per_second"]), _e(speed["first_token_ms"]))


def _version_cell(host):
    ollama = host["ollama"]
    if ollama["below_floor"]:
        return '<td class="drift">%s<span class="flag">BELOW FLOOR</span></td>' % _e(ollama["version"])
    if ollama["version_drift"]:
        return '<td class="warn">%s<span class="flag">DRIFT</span></td>' % _e(ollama["version"])
    return "<td>%s</td>" % _e(ollama["version"])


def _matrix(doc):
    models = sorted(doc["fleet"]["models"])
    head = "".join("<th>%s</th>" % _e(m) for m in models)
    rows = ['<tr class="fleet"><th>fleet (most hosts)</th><td>%s</td><td></td>%s</tr>' % (
        _e(doc["fleet"]["ollama_version"] or "no majority"),
        "".join("<td>%s</td>" % (_fleet_value(doc["fleet"]["models"][m]["digest"]) if doc["fleet"]["models"][m]["digest"]
                                 else "no majority") for m in models))]
    for host in doc["hosts"]:
        name = "<th>%s</th>" % _e(host["name"])
        if not host["reachable"]:
            # The reason spans the Ollama and advisories columns, the connection's own words the models' columns.
            detail = host.get("error_detail")
            if models:
                rows.append('<tr>%s<td class="down" colspan="2">UNREACHABLE: %s</td><td class="detail" colspan="%d">%s</td>'
                            "</tr>" % (name, _e(host["error"]), len(models), _e(detail)))
            else:
                rows.append('<tr>%s<td class="down" colspan="2">UNREACHABLE: %s%s</td></tr>' % (
                    name, _e(host["error"]), _detail(detail)))
            continue
        if not host["ollama"]:
            rows.append('<tr>%s<td class="down">OLLAMA NOT ANSWERING</td>%s%s</tr>' % (
                name, _advisories_cell(host),
                '<td class="down" colspan="%d">%s</td>' % (len(models), _e(host["error"])) if models
                else ""))
            continue
        held = {m["name"]: m for m in host["models"]}
        cells = []
        for model in models:
            m = held.get(model)
            if m is None:
                cells.append('<td class="missing">not on this host</td>')
            elif m["digest_drift"]:
                cells.append('<td class="drift"><code>%s</code><span class="flag">DRIFT</span>%s</td>' % (
                    _e(_short(m["digest"])), _speed_text(m["speed"])))
            else:
                cells.append("<td><code>%s</code>%s</td>" % (_e(_short(m["digest"])), _speed_text(m["speed"])))
        rows.append("<tr>%s%s%s%s</tr>" % (name, _version_cell(host), _advisories_cell(host), "".join(cells)))
    return ('<section id="matrix"><h2>Hosts &times; models (digests, first %d characters)</h2><div class="scroll"><table>'
            "<thead><tr><th>Host</th><th>Ollama</th><th>Known advisories</th>%s</tr></thead><tbody>%s</tbody></table></div>"
            "<p class=\"meta\">Known advisories: those of meta/advisories.yml that affect the version each container runs "
            "(its image tag; Ollama's own answer when the tag is not a version).</p></section>" % (
                DIGEST_SHORT, head, "".join(rows)))


_CHART_W = 480
_ROW_H = 34


def _svg(label, rows, body):
    # Each row is a line of text above its bar, so the chart stays legible when a phone scales it down.
    return '<svg role="img" aria-label="%s" viewBox="0 0 %d %d">%s</svg>' % (_e(label), _CHART_W, _ROW_H * rows + 4, body)


def _speed_chart(doc):
    bars = [(h["name"], m["name"], m["speed"]["tokens_per_second"], m["digest_drift"])
            for h in doc["hosts"] for m in h["models"] if m["speed"] and m["speed"]["tokens_per_second"] is not None]
    if not bars:
        return ('<section id="speed"><h2>Tokens per second</h2><p>No timed generation in this report '
                "(report_generate was false, or no model answered).</p></section>")
    top = max(b[2] for b in bars) or 1
    parts = []
    for i, (host, model, value, drift) in enumerate(bars):
        y = i * _ROW_H
        parts.append('<text x="0" y="%d">%s &middot; %s: %s tokens/s</text>' % (y + 13, _e(host), _e(model), _e(value)))
        parts.append('<rect x="0" y="%d" width="%d" height="12" fill="%s"/>' % (
            y + 18, max(1, int(round(_CHART_W * value / top))), "#b71c1c" if drift else "#1565c0"))
    return '<section id="speed"><h2>Tokens per second (red: a drifted model)</h2>%s</section>' % _svg(
        "Tokens per second per host and model", len(bars), "".join(parts))


def _headroom_bar(y, label, free, total):
    if not total or free is None:
        return '<text x="0" y="%d">%s: unknown</text>' % (y + 13, _e(label))
    share = max(0.0, min(1.0, float(free) / total))
    colour = "#b71c1c" if share < 0.1 else "#c77700" if share < 0.25 else "#2e7d32"
    used = int(round(_CHART_W * (1 - share)))
    return ('<text x="0" y="%d">%s: %s free of %s (%d %%)</text>'
            '<rect x="0" y="%d" width="%d" height="12" fill="#cfd8dc"/>'
            '<rect x="%d" y="%d" width="%d" height="12" fill="%s"/>' % (
                y + 13, _e(label), _gib(free), _gib(total), int(round(share * 100)),
                y + 18, used, used, y + 18, _CHART_W - used, colour))


def _headroom(doc):
    hosts = [h for h in doc["hosts"] if h["reachable"]]
    if not hosts:
        return '<section id="headroom"><h2>Memory and disk headroom</h2><p>No host answered.</p></section>'
    parts = []
    for i, host in enumerate(hosts):
        memory, disk = host["memory"] or {}, host["disk"] or {}
        y = 2 * i * _ROW_H
        parts.append(_headroom_bar(y, "%s RAM" % host["name"], memory.get("available_bytes"), memory.get("total_bytes")))
        parts.append(_headroom_bar(y + _ROW_H, "%s disk" % host["name"], disk.get("available_bytes"),
                                   disk.get("total_bytes")))
    return ('<section id="headroom"><h2>Memory and disk headroom (free share in colour: green 25 %% and more, amber, '
            'red under 10 %%)</h2>%s</section>' % _svg("Free memory and disk per host", 2 * len(hosts), "".join(parts)))


def _state(c):
    """The state cell: the engine's word and the health check's; amber when it does not run or is not healthy."""
    words = c.get("status") or ("running" if c["running"] else "stopped")
    health = c.get("health")
    text = "%s &middot; %s" % (_e(words), _e(health)) if health else _e(words)
    bad = not c["running"] or health not in (None, "healthy") or words not in ("running", "")
    return '<td class="warn">%s</td>' % text if bad else "<td>%s</td>" % text


def _container_advisories(c):
    if c.get("advisories") is None:
        return '<td class="missing">%s</td>' % ("not judged (tag %s)" % _e(c["tag"] or "none") if c.get("component") else "-")
    if not c["advisories"]:
        return "<td>none known</td>"
    return '<td class="%s">%s</td>' % ("drift" if any(a["fixed_in"] for a in c["advisories"]) else "warn",
                                       ", ".join(_advisory(a) for a in c["advisories"]))


def _containers(doc):
    rows = []
    for host in doc["hosts"]:
        if not host["reachable"]:
            continue
        ui = {u["container"]: u for u in host["ui"]}
        gpus = ", ".join("%s %s" % (g["vendor"], g["name"]) for g in host["gpus"]) or "none"
        for c in host["containers"]:
            link = ui.get(c["name"])
            url = c.get("url") or (link["url"] if link else None)
            where = '<a href="%s">%s</a>' % (_e(url), _e(url)) if url and url.startswith(("http://", "https://")) else "-"
            image = ('<td class="warn"><code>%s</code><span class="flag">DRIFT</span></td>' % _e(c["image"])
                     if c["image_drift"] else "<td><code>%s</code></td>" % _e(c["image"]))
            rows.append("<tr><th>%s</th><td>%s</td>%s%s%s<td>%s</td><td>%s</td></tr>" % (
                _e(host["name"]), _e(c["name"]), image, _state(c), _container_advisories(c), where, _e(gpus)))
    if not rows:
        return '<section id="containers"><h2>Containers and chat UIs</h2><p>No container found.</p></section>'
    return ('<section id="containers"><h2>Containers and chat UIs</h2><div class="scroll"><table><thead><tr><th>Host</th>'
            "<th>Container</th><th>Image</th><th>State</th><th>Known advisories</th><th>URL</th><th>GPU</th></tr></thead>"
            "<tbody>%s</tbody></table></div></section>" % "".join(rows))


def render(doc):
    """The whole page as text."""
    body = "".join([_header(doc), _problems(doc), _matrix(doc), _speed_chart(doc), _headroom(doc), _containers(doc)])
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>%s</title><style>%s</style></head><body>%s"
            "<footer><p class=\"meta\">llmops.ollama fleet report; the same data is in the JSON file beside this page."
            "</p></footer></body></html>\n" % (_e(doc["title"]), CSS.strip(), body))
