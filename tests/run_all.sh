#!/usr/bin/env bash
# Runs the named make targets in order, stops at the first failure, and prints how long each took.
set -uo pipefail
cd "$(dirname "$0")/.."

declare -a summary=()
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
  summary+=("$(printf '%-12s %-7s %5ds' "$target" "$result" $((SECONDS - start)))")
  [ "$status" -eq 0 ] || break
done

echo "=== summary"
printf '%s\n' "${summary[@]}"
printf '%-12s %-7s %5ds\n' total "$([ "$status" -eq 0 ] && echo ok || echo FAILED)" $((SECONDS - start_all))
exit "$status"
