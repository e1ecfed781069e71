"""Where every published figure comes from: the commit it measured and when.

Each bench, the fault suite, the test run and the demo save their figures with ``save(name, data)``
into ``docs/figures/<name>.json``; ``tests/readme/render.py`` renders the README's tables from
those files and ``tests/readme`` fails when the README and the files disagree. From a shell:

    python3 bench/provenance.py save NAME < figures.json
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURES = os.path.join(ROOT, "docs", "figures")
# Files the producers themselves rewrite: they do not make the measured tree "dirty".
_OWN_OUTPUTS = (":(exclude)docs/figures", ":(glob,exclude)**/RESULTS.md")


def _git(*args: str) -> str:
    proc = subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def measured() -> dict:
    """The commit of the checkout, whether it had uncommitted changes, and the time, in UTC."""
    commit = _git("rev-parse", "HEAD") or "unknown"
    dirty = bool(_git("status", "--porcelain", "--", ".", *_OWN_OUTPUTS))
    return {
        "commit": commit,
        "dirty": dirty,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def save(name: str, data: dict) -> str:
    """Write data plus ``measured`` to docs/figures/<name>.json; returns the path."""
    os.makedirs(FIGURES, exist_ok=True)
    path = os.path.join(FIGURES, name + ".json")
    record = dict(data, measured=measured())
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=1, sort_keys=True)
        handle.write("\n")
    os.replace(path + ".tmp", path)
    return path


def label(record: dict) -> str:
    """'commit abc1234, 2026-11-29 21:40 UTC' (with '+ uncommitted changes' when dirty)."""
    m = record["measured"]
    text = "commit %s, %s" % (m["commit"][:10], m["date"])
    return text + (" (with uncommitted changes)" if m["dirty"] else "")


def label_now() -> str:
    """label() of the checkout as it is now."""
    return label({"measured": measured()})


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "save":
        sys.exit("usage: provenance.py save NAME < figures.json")
    print(save(sys.argv[2], json.load(sys.stdin)))
