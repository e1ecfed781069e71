#!/usr/bin/env bash
# Times the first converge (bare Debian 12 lab host to a working service) and the second, no-op
# converge (molecule's idempotence step: a converge that must report changed=0) of
# molecule/default, RUNS times (default 3), and writes the medians and their ratio to RESULTS.md.
#   bench/converge/run.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x .venv/bin/molecule ] && export PATH="$PWD/.venv/bin:$PATH"
runs=${1:-3}
out=bench/converge
raw=$(mktemp)
log=${TMPDIR:-/tmp}/llmops-bench-converge.log
trap 'rm -f "$raw"' EXIT

lab/bin/lab up >/dev/null
tests/collection_path.sh >/dev/null

timed() {  # prints the seconds the command took; its output goes to the log
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >>"$log" 2>&1 || { echo "failed: $* (see $log)" >&2; exit 1; }
  t1=$(date +%s.%N)
  python3 -c "print(round($t1 - $t0, 1))"
}

: >"$log"
for i in $(seq 1 "$runs"); do
  molecule destroy -s default >>"$log" 2>&1
  molecule create -s default >>"$log" 2>&1
  molecule prepare -s default >>"$log" 2>&1
  first=$(timed molecule converge -s default)
  mark=$(wc -l <"$log")
  second=$(timed molecule idempotence -s default)
  # Tasks the no-op run executed: ok + changed in its PLAY RECAP (skipped ones did not run).
  tasks=$(tail -n +"$mark" "$log" | python3 -c 'import re, sys; print(sum(int(a) + int(b) for a, b in re.findall(r"ok=(\d+)\s+changed=(\d+)", sys.stdin.read())))')
  echo "run $i: first converge ${first} s, second (no-op) converge ${second} s, ${tasks} tasks" >&2
  echo "$first $second $tasks" >>"$raw"
done
molecule destroy -s default >>"$log" 2>&1

python3 - "$raw" "$runs" >"$out/RESULTS.md" <<'PY'
import os, platform, statistics, subprocess, sys, time
rows = [tuple(map(float, line.split())) for line in open(sys.argv[1]) if line.strip()]
first = statistics.median(r[0] for r in rows)
second = statistics.median(r[1] for r in rows)
tasks = statistics.median(r[2] for r in rows)
cores = os.cpu_count()
mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
print("# Converge time of molecule/default (Debian 12 lab host, Docker)\n")
print("Produced by `bench/converge/run.sh %s` on %s (%d CPU cores, %.0f GB RAM), %s.\n"
      % (sys.argv[2], platform.node() or "the build machine", cores, mem_gb, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())))
print("| | median (s) | runs (s) |")
print("|---|---|---|")
print("| first converge: bare lab host to Ollama + qwen2.5:0.5b + LobeChat | %.1f | %s |" % (first, ", ".join("%.1f" % r[0] for r in rows)))
print("| second converge (no-op, `changed=0`, molecule's idempotence step) | %.1f | %s |" % (second, ", ".join("%.1f" % r[1] for r in rows)))
print("| ratio second / first | %.2f | |" % (second / first))
print("| tasks the no-op converge executed (ok + changed) | %d | %s |" % (tasks, ", ".join("%d" % r[2] for r in rows)))
print()
print("n = %d. Each run starts from a new lab host (molecule destroy, create, prepare). The first converge" % len(rows))
print("installs Debian's docker.io from the Debian archive inside the lab host, pulls the Ollama and")
print("LobeChat images and the model from the lab registry; the second finds everything in place.")
print("Both figures include molecule's own start-up (a few seconds). Reproduce: `bench/converge/run.sh 3`")
print("with the lab up; the machine is shared, so expect some spread.")
print()
sys.path.insert(0, "bench")
import provenance
print("Measured at %s." % provenance.label_now())
provenance.save("converge", {
    "runs": len(rows), "first_median_s": "%.1f" % first, "noop_median_s": "%.1f" % second,
    "ratio": "%.2f" % (second / first), "noop_tasks": "%d" % tasks,
})
PY
cat "$out/RESULTS.md"
