#!/usr/bin/env python3
"""`make versions`: per component of meta/advisories.yml, the default tag, the floor, the newest release on record
and the advisories that affect the default (open ones: no release the roles let through fixes them, so the roles
warn and name what stands in). Exits 1 when a default is below its floor."""

from __future__ import annotations

import sys

from advisories_data import _advisories, below, load


def rows(data):
    out = []
    for name, entry in data["components"].items():
        default = str(entry["default"])
        affecting = _advisories.affecting(entry, default)
        out.append({
            "component": name,
            "default": default,
            "floor": str(entry.get("floor") or "-"),
            "newest": str(entry.get("newest") or "-"),
            "open": ", ".join(_advisories.advisory_name(a) for a in affecting) or "none",
            "below": below(default, entry.get("floor")),
        })
    return out


def main():
    table = rows(load())
    heads = ("component", "default", "floor", "newest", "open")
    titles = ("component", "default", "floor", "newest on record", "open advisories (affecting the default)")
    widths = [max(len(t), *(len(r[h]) for r in table)) for h, t in zip(heads, titles)]
    print("  ".join(t.ljust(w) for t, w in zip(titles, widths)).rstrip())
    for row in table:
        print("  ".join(row[h].ljust(w) for h, w in zip(heads, widths)).rstrip())
    bad = [r for r in table if r["below"]]
    for row in bad:
        print("%s: the default %s is below the floor %s" % (row["component"], row["default"], row["floor"]),
              file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
