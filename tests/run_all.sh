#!/usr/bin/env bash
# Runs the named make targets in order, every one of them even after one fails (a flaky stage must not hide
# the results after it), prints how long each took, and exits non-zero if any failed.
# The summary is also saved (docs/figures/test_run.json, with the commit) for the README to quote.
set -uo pipefail
cd "$(dirname "$0")/.."

declare -a stages=()  # "TARGET RESULT SECONDS"
start_all=$SECONDS
status=0
for target in "$@"; do
  echo "=== make $target"
  start=$SECONDS
  if make --no-print-directory "$target"; then
    result=ok
  else
    result=FAILED
    status=1
  fi
  stages+=("$target $result $((SECONDS - start))")
done
total=$((SECONDS - start_all))

echo "=== summary"
for stage in "${stages[@]}"; do
  # shellcheck disable=SC2086  # word-split on purpose: target, result, seconds
  printf '%-12s %-7s %5ds\n' $stage
done
printf '%-12s %-7s %5ds\n' total "$([ "$status" -eq 0 ] && echo ok || echo FAILED)" "$total"

printf '%s\n' "${stages[@]}" | python3 -c '
import json, os, sys
stages = [dict(zip(("stage", "result", "seconds"), line.split())) for line in sys.stdin if line.strip()]
for s in stages:
    s["seconds"] = int(s["seconds"])
print(json.dumps({"stages": stages, "total_s": int(sys.argv[1]), "ci": os.environ.get("CI") == "true"}))' "$total" | python3 bench/provenance.py save test_run >/dev/null
exit "$status"
