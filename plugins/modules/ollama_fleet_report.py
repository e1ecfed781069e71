#!/usr/bin/python
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ollama_fleet_report
short_description: Write the fleet report (JSON and one self-contained HTML page) from what each host sent
version_added: 0.3.0
author: llmops.ollama maintainers (@llmops)
description:
  - Folds what the C(llmops.ollama.report) role gathered on each host into one document, schema
    C(llmops.ollama/fleet-report) version 1 (C(docs/report-schema-v1.json) in the collection), finds the drift
    across hosts, and writes it as C(<dest>/<basename>.json) and C(<dest>/<basename>.html).
  - "Drift: a model whose digest differs from the one most hosts have, a host whose Ollama version or container
    image differs from the fleet's most common one, a host below O(version_floor)."
  - "Known advisories: each container's image is judged against the collection's advisories data
    (C(meta/advisories.yml), or O(advisories)): the component it is (by its container name in the host's
    C(components), else by its image's repository), the version it runs (its image tag; for Ollama, the version its
    API gave when the tag is not a version) and the advisories affecting that version, each with the release that
    fixes it, or none when no release does."
  - "An unreachable host is told in words an operator can act on (sudo asks for a password, Python is missing, the
    host's container is stopped, ...), with the connection's own words as the detail."
  - The HTML page loads nothing (no script, font or style from anywhere); CSS and SVG charts are inline. It shows
    the hosts that could not be reached, the drift, a host by model matrix with digests, tokens per second as a
    bar chart, memory and disk headroom, and the containers with their chat UI's URL.
  - Measured values (speed, time to first token, free memory and disk) are kept to two significant digits, so an
    unchanged fleet gives the same document. The files are rewritten only when the document changed apart from
    its time (C(generated_at)); otherwise they keep the time of the run that last changed them.
  - Meant to run once, on the controller (C(run_once) and C(delegate_to=localhost)).
extends_documentation_fragment:
  - llmops.ollama.attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode nothing is written; C(changed) says whether the files would change.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - The same fleet state gives the same document apart from its time, and then nothing is written.
options:
  dest:
    description:
      - The directory to write the two files into; created when missing.
    type: path
    required: true
  basename:
    description:
      - The files' name without its extension.
    type: str
    default: fleet-report
  hosts:
    description:
      - What each host sent, by inventory name, as the C(llmops.ollama.report) role gathers it
        (C(reachable), C(unreachable_msg), C(address), C(host) from M(llmops.ollama.host_report_info),
        C(ollama) from M(llmops.ollama.ollama_model_info), C(generate) from a loop over M(llmops.ollama.ollama_generate),
        C(ui), C(front_door) with C(container), C(server_names), C(https_port) and C(ui) (the container of the chat
        UI behind it; empty for any), and C(components), the component of the advisories data of each container name).
    type: dict
    required: true
  version_floor:
    description:
      - Hosts whose Ollama version is below this one are flagged.
    type: str
    required: true
  title:
    description:
      - The report's title.
    type: str
    default: LLM fleet report
  advisories:
    description:
      - The collection's advisories data, as C(meta/advisories.yml) holds it (the C(llmops.ollama.report) role reads
        that file on the controller and passes it).
      - Without it the module reads C(meta/advisories.yml) beside its own files, which only works where it runs from
        the collection's directory; when that fails, versions are not judged and the module warns.
    type: dict
seealso:
  - module: llmops.ollama.host_report_info
  - module: llmops.ollama.ollama_model_info
"""

EXAMPLES = r"""
- name: Write the report (the role llmops.ollama.report does this for you)
  llmops.ollama.ollama_fleet_report:
    dest: "{{ playbook_dir }}/report"
    hosts: "{{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars, '__report_host'))) }}"
    version_floor: "0.31.2"
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
json_path:
  description: The JSON file.
  returned: always
  type: str
  sample: /srv/reports/fleet-report.json
html_path:
  description: The HTML page.
  returned: always
  type: str
  sample: /srv/reports/fleet-report.html
generated_at:
  description: The time in the files, UTC; that of an earlier run when nothing changed since.
  returned: always
  type: str
  sample: "2026-11-30T00:30:12Z"
summary:
  description: Counts of hosts, reachable hosts, unreachable hosts, hosts whose Ollama answered, models, drift findings
    and hosts with known advisories.
  returned: always
  type: dict
  sample: {"hosts": 3, "reachable": 2, "unreachable": 1, "answering": 2, "models": 1, "drift": 1, "advisories": 1}
drift:
  description: The drift findings, each with C(kind) (C(model_digest), C(ollama_version), C(image), C(below_floor)),
    C(host), C(value) and C(fleet) (the value most hosts have, or the floor), and C(model) or C(container).
  returned: always
  type: list
  elements: dict
advisories:
  description:
    - The known advisories of each host, by inventory name, each with C(component), C(version), C(ids) and
      C(fixed_in) (null when no release fixes it); hosts with none are left out.
  returned: always
  type: dict
  sample: {"web-3": [{"component": "ollama", "version": "0.32.15", "ids": "CVE-2026-108836", "fixed_in": "0.34.2"}]}
findings:
  description: What an operator reads first, as lines of text; each unreachable host with what to do and the
    connection's own words, then each host's known advisories by component and version.
  returned: always
  type: list
  elements: str
  sample:
    - "web-4 UNREACHABLE: The connection timed out: the host is down, or a firewall drops its SSH port. [Failed to
      connect to the host via ssh: ssh: connect to host 10.0.0.4 port 22: Connection timed out]"
    - "web-3 known advisories: ollama 0.32.15: CVE-2026-108836 (fixed in 0.34.2), CVE-2026-85180 (fixed in 0.33.3),
      CVE-2026-7020 (GHSA-x99g-8v8j-25j2) (no release fixes it)"
unreachable_hosts:
  description:
    - The hosts that could not be reached, each with C(host) and C(reason) (the document's C(unreachable); a module
      result may not use that key, Ansible would read it as the controller being unreachable), and C(detail), the
      connection's own words.
  returned: always
  type: list
  elements: dict
"""

import datetime
import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.llmops.ollama.plugins.module_utils import _advisories, _fleet_report, _fleet_report_html


def read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def previous(path):
    text = read(path)
    try:
        return json.loads(text) if text is not None else None
    except ValueError:
        return None


def as_json(doc):
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write(module, path, text):
    handle, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".fleet-report-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(tmp, 0o644)
    module.atomic_move(tmp, path)


def advisories_data(module):
    """The advisories data: the option, else the collection's file beside this module's utilities; None (with a
    warning) when neither is there."""
    data = module.params["advisories"]
    if data is None:
        try:
            data = _advisories.load()
        except (OSError, ValueError) as err:
            module.warn("the advisories data (meta/advisories.yml) could not be read (%s): the report does not judge "
                        "the containers' versions; pass it with the advisories option" % err)
            return None
    if not isinstance(data, dict) or not isinstance(data.get("components"), dict):
        module.fail_json(msg="advisories: the data must be meta/advisories.yml's, a mapping with components")
    return data


def main():
    module = AnsibleModule(argument_spec={
        "dest": {"type": "path", "required": True},
        "basename": {"type": "str", "default": "fleet-report"},
        "hosts": {"type": "dict", "required": True},
        "version_floor": {"type": "str", "required": True},
        "title": {"type": "str", "default": "LLM fleet report"},
        "advisories": {"type": "dict"},
    }, supports_check_mode=True)
    p = module.params
    if "/" in p["basename"] or p["basename"] in ("", ".", ".."):
        module.fail_json(msg="basename: %r must be a file name without a directory" % p["basename"])
    if _fleet_report.version_key(p["version_floor"]) is None:
        module.fail_json(msg="version_floor: %r is not a version such as 0.17.1" % p["version_floor"])
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = advisories_data(module)
    doc = _fleet_report.build(p["hosts"], p["version_floor"], now, title=p["title"], advisories=data)
    json_path = os.path.join(p["dest"], p["basename"] + ".json")
    html_path = os.path.join(p["dest"], p["basename"] + ".html")
    old = previous(json_path)
    if _fleet_report.same_apart_from_time(old, doc):
        doc["generated_at"] = old["generated_at"]
    files = {json_path: as_json(doc), html_path: _fleet_report_html.render(doc)}
    stale = [path for path, text in files.items() if read(path) != text]
    if stale and not module.check_mode:
        os.makedirs(p["dest"], exist_ok=True)
        for path in stale:
            write(module, path, files[path])
    details = {h["name"]: h["error_detail"] for h in doc["hosts"]}
    module.exit_json(changed=bool(stale), json_path=json_path, html_path=html_path, generated_at=doc["generated_at"],
                     summary=doc["summary"], drift=doc["drift"],
                     advisories={h["name"]: h["advisories"] for h in doc["hosts"] if h["advisories"]},
                     findings=_fleet_report.findings(doc),
                     unreachable_hosts=[dict(u, detail=details.get(u["host"])) for u in doc["unreachable"]])


if __name__ == "__main__":
    main()
