#!/usr/bin/env bash
# The browser test N times against one deployment (default 20), each a new browser and a new sign-in: a check that
# passes once may still read a page wrongly now and then (a success toast once read as a refusal failed a clean-clone
# CI run). Prints each run's result and seconds, then "N of N passed"; exits non-zero unless every run passed.
#   eval "$(tests/browser/dev_stack.sh up)" && tests/browser/repeat.sh 20
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-20}
passed=0
for i in $(seq 1 "$runs"); do
  start=$SECONDS
  if "$root/tests/browser/run.sh" >"${TMPDIR:-/tmp}/llmops-browser-repeat.log" 2>&1; then
    passed=$((passed + 1))
    result=passed
  else
    result=FAILED
    tail -30 "${TMPDIR:-/tmp}/llmops-browser-repeat.log"
  fi
  printf 'run %2d: %-6s %3ds\n' "$i" "$result" $((SECONDS - start))
done
echo "browser test: $passed of $runs passed"
[ "$passed" -eq "$runs" ]
