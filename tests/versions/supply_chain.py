#!/usr/bin/env python3
"""Render the advisory table of docs/supply-chain.md from meta/advisories.yml, or check that it matches.

    python3 tests/versions/supply_chain.py --write   # rewrite the block in docs/supply-chain.md
    python3 tests/versions/supply_chain.py --check   # exit 1 when the committed block differs

The block sits between ``<!-- generated:advisories -->`` and ``<!-- end:advisories -->``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from advisories_data import ROOT, _advisories, load

DOC = os.path.join(ROOT, "docs", "supply-chain.md")
BLOCK = re.compile(r"(<!-- generated:advisories -->\n)(?P<body>.*?)(<!-- end:advisories -->)", re.S)


def _text(value):
    return " ".join(str(value or "").split()).replace("|", "\\|")


def _affected(advisory):
    start = advisory.get("introduced")
    last = advisory.get("last_affected")
    fixed = advisory.get("fixed_in")
    if start:
        span = "%s to %s" % (start, last) if last else "from %s" % start
    else:
        span = "up to %s" % last if last else "every release"
    return span if fixed else span + " (and later: no release fixes it)"


def render(data):
    lines = [
        "| Component | Default | Floor | Newest on record |",
        "|---|---|---|---|",
    ]
    for entry in data["components"].values():
        lines.append("| %s (`%s`) | `%s` | %s | `%s` |" % (
            _text(entry["name"]), entry["image"], entry["default"],
            "`%s`" % entry["floor"] if entry.get("floor") else "none", entry.get("newest") or "-"))
    lines += ["", "| Component | Advisory | What | Affected | Fixed in | Sources | How confirmed |",
              "|---|---|---|---|---|---|---|"]
    for entry in data["components"].values():
        for advisory in entry.get("advisories") or []:
            fixed = "`%s`" % advisory["fixed_in"] if advisory.get("fixed_in") else "**no release**"
            what = _text(advisory["summary"])
            if advisory.get("note"):
                what += " *Note:* " + _text(advisory["note"])
            if advisory.get("stands_in"):
                what += " *Stands in for a fix:* " + _text(advisory["stands_in"])
            lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                _text(entry["name"]), _text(_advisories.advisory_name(advisory)), what, _affected(advisory), fixed,
                "; ".join(_text(s) for s in advisory.get("sources") or []), _text(advisory.get("confirmed"))))
    notes = [(entry["name"], entry.get("floor_note")) for entry in data["components"].values() if entry.get("floor_note")]
    lines += [""] + ["- %s: %s" % (_text(name), _text(note)) for name, note in notes]
    return "\n".join(lines) + "\n"


def committed():
    with open(DOC, encoding="utf-8") as handle:
        text = handle.read()
    match = BLOCK.search(text)
    if not match:
        raise SystemExit("%s: no <!-- generated:advisories --> block" % DOC)
    return text, match


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text, match = committed()
    body = render(load())
    if args.write:
        with open(DOC, "w", encoding="utf-8") as handle:
            handle.write(text[:match.start("body")] + body + text[match.end("body"):])
        return 0
    if match.group("body") != body:
        print("docs/supply-chain.md: the advisory table differs from meta/advisories.yml; run "
              "python3 tests/versions/supply_chain.py --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
