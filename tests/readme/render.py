"""Render the README's generated blocks from docs/figures/*.json, or check that they match.

    python3 tests/readme/render.py --write   # rewrite the blocks in README.md
    python3 tests/readme/render.py --check   # exit 1 naming each block that differs

A block sits between ``<!-- generated:NAME -->`` and ``<!-- end:NAME -->``. Each figure shown is
also looked up in the RESULTS.md its producer wrote, so a hand-edited figure on either side fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import provenance  # noqa: E402

RESULTS = {
    "module_noop": "bench/module_noop/RESULTS.md",
    "converge": "bench/converge/RESULTS.md",
    "fleet": "bench/fleet/RESULTS.md",
    "report": "bench/report/RESULTS.md",
    "fetch": "bench/fetch/RESULTS.md",
    "ui": "bench/ui/RESULTS.md",
    "faults": "tests/faults/RESULTS.md",
}
BLOCK = re.compile(r"(<!-- generated:(?P<name>[a-z_]+) -->\n)(?P<body>.*?)(<!-- end:(?P=name) -->)", re.S)


def load(name: str, figures_dir: str) -> dict:
    with open(os.path.join(figures_dir, name + ".json"), encoding="utf-8") as handle:
        return json.load(handle)


def demo(fig):
    d = fig["demo"]
    return ("```\n$ make demo\n...\n%s\n```\n\n(Real output of `make demo`, %s. The answer and the speed "
            "come from the lab's Ollama double; on a real server they are the model's.)\n"
            % ("\n".join(d["transcript"]), provenance.label(d))), []


def figures(fig):
    noop, conv, fleet, report, fetch, ui = (fig["module_noop"], fig["converge"], fig["fleet"], fig["report"],
                                            fig["fetch"], fig["ui"])
    mod, uri = noop["ways"]["ollama_model"], noop["ways"]["uri"]
    rows = [
        ("Requests of a no-op `ollama_model` run", "%d (`%s`), changed %s" % (mod["requests"], mod["request_list"], mod["changed"]),
         "`bench/module_noop`", noop),
        ("No-op `ollama_model` vs `uri` `POST /api/pull`, median task time (n=%d, against the unit tests' "
         "Ollama look-alike)" % noop["runs"], "%s s vs %s s" % (mod["median_task_s"], uri["median_task_s"]),
         "`bench/module_noop`", noop),
        ("First converge / no-op converge of `molecule/default` (n=%d; the lab's Ollama double and UI stand-ins, "
         "each tree deploying its own UI: LobeHub 2.x is three containers, LobeChat 1.x before issue 16 one)"
         % conv["runs"],
         "%s s / %s s (ratio %s; %s tasks in the no-op run)%s" % (
             conv["first_median_s"], conv["noop_median_s"], conv["ratio"], conv["noop_tasks"],
             ("; before, at %s in the same run: %s s / %s s (ratio %s; %s tasks)" % (
                 conv["before"]["commit"][:10], conv["before"]["first_median_s"], conv["before"]["noop_median_s"],
                 conv["before"]["ratio"], conv["before"]["noop_tasks"])) if "before" in conv else ""),
         "`bench/converge`", conv),
        ("Fleet rollout wall time, 1 host / 3 hosts (serial `%s`, forks %d, n=%d; lab hosts running the Ollama double)"
         % (json.dumps(fleet["serial"]), fleet["forks"], fleet["runs"]),
         "%s s / %s s (ratio %s)" % (fleet["wall_median_s"]["1"], fleet["wall_median_s"]["3"], fleet["ratio_3_to_1"]),
         "`bench/fleet`", fleet),
        ("Fleet report (`playbooks/report.yml`, a timed generation per host) wall time, 1 host / 3 hosts (forks %d, "
         "n=%d; lab hosts running the Ollama double)" % (report["forks"], report["runs"]),
         "%s s / %s s (ratio %s)" % (report["wall_median_s"]["1"], report["wall_median_s"]["3"], report["ratio_3_to_1"]),
         "`bench/report`", report),
        ("Mirror fetch of a %d-byte model (`ollama_mirror_fetch`'s code: sha256-verified, fsynced, manifest last) vs "
         "`curl` of the same blobs from the same lab mirror, no verification (n=%d, medians, interleaved)"
         % (fetch["model_bytes"], fetch["runs"]),
         "%s MB/s vs %s MB/s (ratio %s); %s CPU s per GB" % (fetch["fetch"]["mb_s"], fetch["curl"]["mb_s"],
                                                           fetch["ratio"], fetch["fetch"]["cpu_s_per_gb"]),
         "`bench/fetch`", fetch),
        ("One streamed chat through the HTTPS front door and Open WebUI %s vs straight to Ollama's API, first token "
         "and whole answer (n=%d, medians, interleaved; the Ollama double answers, so this is the UI's and proxy's "
         "overhead, not a model's speed)" % (ui["open_webui_version"], ui["runs"]),
         "first token %s s vs %s s, whole answer %s s vs %s s (+%s s)" % (
             ui["ui"]["first_token_median_s"], ui["ollama"]["first_token_median_s"],
             ui["ui"]["total_median_s"], ui["ollama"]["total_median_s"], ui["overhead"]["total_s"]),
         "`bench/ui`", ui),
    ]
    out = ["| Figure | Value | Source | Measured at |", "|---|---|---|---|"]
    out += ["| %s | %s | %s | %s |" % (what, value, src, provenance.label(rec)) for what, value, src, rec in rows]
    needles = [("module_noop", mod["median_task_s"]), ("module_noop", uri["median_task_s"]),
               ("converge", conv["first_median_s"]), ("converge", conv["noop_median_s"]), ("converge", conv["ratio"]),
               ("fleet", fleet["wall_median_s"]["1"]), ("fleet", fleet["wall_median_s"]["3"]),
               ("fleet", fleet["ratio_3_to_1"]), ("report", report["wall_median_s"]["1"]),
               ("report", report["wall_median_s"]["3"]), ("report", report["ratio_3_to_1"]),
               ("fetch", fetch["fetch"]["mb_s"]), ("fetch", fetch["curl"]["mb_s"]), ("fetch", fetch["ratio"]),
               ("ui", ui["ui"]["first_token_median_s"]), ("ui", ui["ollama"]["total_median_s"]),
               ("ui", ui["overhead"]["total_s"])]
    return "\n".join(out) + "\n", needles


def fleet_bytes(fig):
    fleet = fig["fleet"]
    out = ["Model bytes fetched from upstream per rollout, divided by the model's size (`%s`, %d bytes), counted in "
           "the upstream registry's own access log (`bench/fleet`, %s):" % (fleet["model"], fleet["model_bytes"],
                                                                          provenance.label(fleet)), "",
           "| hosts | with the mirror | without (each host pulls from upstream) |", "|---|---|---|"]
    by = {(r["hosts"], r["mirror"]): r["ratio"] for r in fleet["bytes"]}
    for hosts in sorted({r["hosts"] for r in fleet["bytes"]}):
        out.append("| %d | %s | %s |" % (hosts, by.get((hosts, True), "-"), by.get((hosts, False), "-")))
    needles = [("fleet", "%d" % r["upstream_bytes"]) for r in fleet["bytes"]]
    return "\n".join(out) + "\n", needles


def faults(fig):
    """One paragraph: how many passed, per item of the checklist; the table with every figure stays in RESULTS.md."""
    f = fig["faults"]
    items = {}  # item -> [passed, tests]
    for r in f["rows"]:
        counts = items.setdefault(r["item"], [0, 0])
        counts[0] += r["result"] == "passed"
        counts[1] += 1
    passed = sum(p for p, _n in items.values())
    named = sorted((item for item in items if item != "-"), key=lambda item: (int(item.split()[0]), item))
    per_item = "; ".join("%s %d/%d" % (item, items[item][0], items[item][1]) for item in named)
    out = ["From the run at %s: **%d of %d** fault, bad-input and exposure tests passed, %d s (%s). Every figure, "
           "from the lab's Ollama double and LobeHub stand-in rather than the real programs, is in "
           "[tests/faults/RESULTS.md](tests/faults/RESULTS.md)."
           % (provenance.label(f), passed, sum(n for _p, n in items.values()), f["wall_s"], per_item)]
    needles = [("faults", "| %s |" % item) for item in named]
    return "\n".join(out) + "\n", needles


def test_run(fig):
    t = fig["test_run"]
    steps = []  # [(step, {lane: [stage, ...]})] in order; a stage without a lane is a step of its own
    for n, s in enumerate(t["stages"]):
        step, _, lane = s.get("lane", "s-%d" % n).partition(".")
        if not steps or steps[-1][0] != step:
            steps.append((step, {}))
        steps[-1][1].setdefault(lane, []).append("%s %d s" % (s["stage"], s["seconds"]))
    stages = "; ".join(", ".join(next(iter(lanes.values()))) if len(lanes) == 1 else
                       "at the same time: " + " and ".join("(%s)" % ", ".join(v) for v in lanes.values())
                       for _step, lanes in steps)
    how = "under `.ci/run` (CI=true, an empty home directory)" if t["ci"] else "by `make test`"
    failed = [s["stage"] for s in t["stages"] if s["result"] != "ok"]
    verdict = "FAILED in %s" % ", ".join(failed) if failed else "passed"
    return ("The last recorded run of `tests/run_all.sh`, %s, %s at %s in **%.1f minutes**: %s.\n"
            % (how, verdict, provenance.label(t), t["total_s"] / 60, stages)), []


RENDERERS = {"demo": demo, "figures": figures, "fleet_bytes": fleet_bytes, "faults": faults, "test_run": test_run}
SOURCES = {"demo": ["demo"], "figures": ["module_noop", "converge", "fleet", "report", "fetch", "ui"], "fleet_bytes": ["fleet"],
           "faults": ["faults"], "test_run": ["test_run"]}


def render(readme: str, root: str = ROOT):
    """(new README text, problems): problems name figures missing from their RESULTS.md."""
    figures_dir = os.path.join(root, "docs", "figures")
    problems = []

    def one(match):
        name = match.group("name")
        if name not in RENDERERS:
            problems.append("README names an unknown generated block %r" % name)
            return match.group(0)
        fig = {src: load(src, figures_dir) for src in SOURCES[name]}
        body, needles = RENDERERS[name](fig)
        for src, needle in needles:
            with open(os.path.join(root, RESULTS[src]), encoding="utf-8") as handle:
                if needle not in handle.read():
                    problems.append("%s: %r is not in %s" % (name, needle, RESULTS[src]))
        return match.group(1) + body + match.group(4)

    return BLOCK.sub(one, readme), problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    path = os.path.join(ROOT, "README.md")
    with open(path, encoding="utf-8") as handle:
        current = handle.read()
    new, problems = render(current)
    for problem in problems:
        print("render: " + problem, file=sys.stderr)
    if args.write and new != current:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(new)
        print("render: README.md rewritten")
    if args.check and new != current:
        print("render: README.md differs from docs/figures; run `make readme`", file=sys.stderr)
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
