#!/usr/bin/env bash
# Times the first converge (bare Debian 12 lab host to a working service) and the second, no-op
# converge (molecule's idempotence step: a converge that must report changed=0) of
# molecule/default, RUNS times (default 5), and writes the medians, their ratio and the tasks the
# no-op run executed to RESULTS.md and docs/figures/converge.json.
#   bench/converge/run.sh [RUNS] [BEFORE_REV]
# With BEFORE_REV (a commit), the same is measured for that commit too, in turns with this tree
# (before, after, before, ...), so both sets of figures see the same machine and the same noise.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x .venv/bin/molecule ] && export PATH="$PWD/.venv/bin:$PATH"
runs=${1:-5}
before_rev=${2:-}
out=bench/converge
raw=$(mktemp)
log=${TMPDIR:-/tmp}/llmops-bench-converge.log
before_dir=$PWD/build/bench-converge-before
trap 'rm -f "$raw"' EXIT

lab/bin/lab up >/dev/null
tests/collection_path.sh >/dev/null
if [ -n "$before_rev" ]; then
  before_commit=$(git rev-parse "$before_rev^{commit}")
  rm -rf "$before_dir" && mkdir -p "$before_dir"
  git archive "$before_commit" | tar -x -C "$before_dir"
  (cd "$before_dir" && tests/collection_path.sh >/dev/null)
fi

timed() {  # prints the seconds the command took; its output goes to the log
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >>"$log" 2>&1 || { echo "failed: $* (see $log)" >&2; exit 1; }
  t1=$(date +%s.%N)
  python3 -c "print(round($t1 - $t0, 1))"
}

measure() {  # LABEL DIR: one first converge and one no-op converge of molecule/default in DIR
  local label=$1 dir=$2 first second mark tasks
  cd "$dir"
  export ANSIBLE_COLLECTIONS_PATH=$dir/build/collections
  molecule destroy -s default >>"$log" 2>&1
  molecule create -s default >>"$log" 2>&1
  molecule prepare -s default >>"$log" 2>&1
  first=$(timed molecule converge -s default)
  mark=$(wc -l <"$log")
  second=$(timed molecule idempotence -s default)
  # Tasks the no-op run executed: ok + changed in its PLAY RECAP (skipped ones did not run).
  tasks=$(tail -n +"$mark" "$log" | python3 -c 'import re, sys; print(sum(int(a) + int(b) for a, b in re.findall(r"ok=(\d+)\s+changed=(\d+)", sys.stdin.read())))')
  molecule destroy -s default >>"$log" 2>&1
  cd - >/dev/null
  echo "$label run: first converge ${first} s, second (no-op) converge ${second} s, ${tasks} tasks" >&2
  echo "$label $first $second $tasks" >>"$raw"
}

: >"$log"
for i in $(seq 1 "$runs"); do
  [ -n "$before_rev" ] && measure before "$before_dir"
  measure after "$PWD"
done

python3 - "$raw" "$runs" "${before_commit:-}" >"$out/RESULTS.md" <<'PY'
import os, platform, statistics, sys, time
sys.path.insert(0, "bench")
import provenance

rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
runs, before_commit = int(sys.argv[2]), sys.argv[3]


def summary(label):
    mine = [tuple(map(float, r[1:])) for r in rows if r[0] == label]
    first = statistics.median(r[0] for r in mine)
    second = statistics.median(r[1] for r in mine)
    return {"first": first, "second": second, "ratio": second / first, "tasks": statistics.median(r[2] for r in mine),
            "rows": mine}


after = summary("after")
before = summary("before") if before_commit else None
cores = os.cpu_count()
mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
print("# Converge time of molecule/default (Debian 12 lab host, Docker)\n")
print("Produced by `bench/converge/run.sh %s%s` on %s (%d CPU cores, %.0f GB RAM), %s.\n"
      % (runs, " " + before_commit[:10] if before_commit else "", platform.node() or "the build machine", cores, mem_gb,
         time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())))
print("| | median (s) | runs (s) |")
print("|---|---|---|")
for label, s in (("before (%s)" % before_commit[:10], before), ("after", after)) if before else (("", after),):
    tag = (" " + label) if label else ""
    print("| first converge%s: bare lab host to Ollama + qwen2.5:0.5b + the tree's UI behind the front door | %.1f | %s |"
          % (tag, s["first"], ", ".join("%.1f" % r[0] for r in s["rows"])))
    print("| second converge%s (no-op, `changed=0`, molecule's idempotence step) | %.1f | %s |"
          % (tag, s["second"], ", ".join("%.1f" % r[1] for r in s["rows"])))
    print("| ratio second / first%s | %.2f | |" % (tag, s["ratio"]))
    print("| tasks the no-op converge%s executed (ok + changed) | %d | %s |"
          % (tag, s["tasks"], ", ".join("%d" % r[2] for r in s["rows"])))
print()
print("n = %d each. Each run starts from a new lab host (molecule destroy, create, prepare)%s. The first"
      % (runs, "; the two trees take turns" if before else ""))
print("converge installs Debian's docker.io from the Debian archive inside the lab host, pulls the images and the")
print("model from the lab registry; the second finds everything in place. Each tree deploys its own UI as its")
print("molecule/default does: LobeHub 2.x is three containers (LobeHub, Postgres, Redis) and a first admin account,")
print("where LobeChat 1.x, in trees before issue 16, was one; both run the lab's stand-ins, not the real programs.")
print("Both figures include molecule's own start-up (a few seconds). Reproduce: `bench/converge/run.sh 5 <commit>`")
print("with the lab up; the machine is shared, so expect some spread.")
print()
print("Measured at %s." % provenance.label_now())
figures = {"runs": runs, "first_median_s": "%.1f" % after["first"], "noop_median_s": "%.1f" % after["second"],
           "ratio": "%.2f" % after["ratio"], "noop_tasks": "%d" % after["tasks"]}
if before:
    figures["before"] = {"commit": before_commit, "first_median_s": "%.1f" % before["first"],
                         "noop_median_s": "%.1f" % before["second"], "ratio": "%.2f" % before["ratio"],
                         "noop_tasks": "%d" % before["tasks"]}
provenance.save("converge", figures)
PY
cat "$out/RESULTS.md"
