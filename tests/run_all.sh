#!/usr/bin/env bash
# Runs make targets, every one of them even after one fails (a flaky stage must not hide the results after it),
# prints how long each took, and exits non-zero if any failed.
# Each argument is a step: one target, or lanes that run at the same time, separated by "|", each lane
# its targets one after the other ("lint sanity | molecule"). A lane's output goes to its own log, printed
# whole when the step ends, so that the lanes' lines do not interleave.
# The summary is also saved (docs/figures/test_run.json, with the commit) for the README to quote.
# Usage: tests/run_all.sh STEP...
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

logs=$(mktemp -d /tmp/llmops-run-all.XXXXXX)
trap 'rm -rf "$logs"' EXIT
start_all=$SECONDS
exec 3>&1  # each stage's result also goes here as it ends, lanes included (a run cut off still shows them)

run_lane() {  # LANE_NAME TARGET...: appends "TARGET RESULT SECONDS LANE" to $logs/stages.LANE_NAME
  local lane=$1 target start result status=0
  shift
  for target in "$@"; do
    echo "=== make $target"
    start=$SECONDS
    if make --no-print-directory "$target"; then
      result=ok
    else
      result=FAILED
      status=1
    fi
    echo "$target $result $((SECONDS - start)) $lane" >>"$logs/stages.$lane"
    echo "run_all: $target $result after $((SECONDS - start)) s (lane $lane, $((SECONDS - start_all)) s since the start)" >&3
  done
  return "$status"
}

step_number=0
for step in "$@"; do
  step_number=$((step_number + 1))
  IFS='|' read -r -a lanes <<<"$step"
  if [ "${#lanes[@]}" -eq 1 ]; then
    # shellcheck disable=SC2086  # word-split on purpose: the lane's targets
    run_lane "s$step_number" ${lanes[0]}
    continue
  fi
  pids=()
  for i in "${!lanes[@]}"; do
    name="s$step_number.$((i + 1))"
    # shellcheck disable=SC2086
    echo "=== lane $name at the same time as the others of step $step_number:" ${lanes[$i]}
    # shellcheck disable=SC2086
    run_lane "$name" ${lanes[$i]} >"$logs/out.$name" 2>&1 &
    pids+=("$!")
  done
  for pid in "${pids[@]}"; do
    wait "$pid"
  done
  for i in "${!lanes[@]}"; do
    name="s$step_number.$((i + 1))"
    echo "=== lane $name, whole output"
    cat "$logs/out.$name"
  done
done
total=$((SECONDS - start_all))

# Stages in the order they were given (lanes of one step in lane order).
for step in $(seq 1 "$step_number"); do
  for file in "$logs/stages.s$step" "$logs/stages.s$step".*; do
    [ -f "$file" ] && cat "$file"
  done
done >"$logs/stages"
status=0
echo "=== summary (lane: s<step>, s<step>.<lane> for lanes that ran at the same time)"
while read -r target result seconds lane; do
  printf '%-12s %-7s %5ds  %s\n' "$target" "$result" "$seconds" "$lane"
  [ "$result" = ok ] || status=1
done <"$logs/stages"
# A target that never wrote its line (the lane was killed) fails the run too.
expected=$(printf '%s\n' "$@" | tr '|' ' ' | wc -w)
[ "$(wc -l <"$logs/stages")" -eq "$expected" ] || { echo "run_all: $expected stages given, $(wc -l <"$logs/stages") reported"; status=1; }
printf '%-12s %-7s %5ds\n' total "$([ "$status" -eq 0 ] && echo ok || echo FAILED)" "$total"

python3 -c '
import json, os, sys
keys = ("stage", "result", "seconds", "lane")
stages = [dict(zip(keys, line.split())) for line in open(sys.argv[2]) if line.strip()]
for s in stages:
    s["seconds"] = int(s["seconds"])
print(json.dumps({"stages": stages, "total_s": int(sys.argv[1]), "ci": os.environ.get("CI") == "true"}))' \
  "$total" "$logs/stages" | python3 bench/provenance.py save test_run >/dev/null
exit "$status"
