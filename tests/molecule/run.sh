#!/usr/bin/env bash
# make molecule: the scenarios and the role tests in two lanes at once, each lane one step after the
# other. A scenario spends about half its time waiting on its lab host (systemd, the inner engine,
# health checks), so two lanes keep both of the machine's cores busy where one lane leaves one idle.
# The steps share nothing but the lab's registries, whose access logs the tests read per client
# address. Each lane's output goes to its own log, printed whole when both lanes have ended, then
# each step's time. ssh (the collection from its tarball, over SSH as an account whose sudo asks for a password;
# about 10 minutes alone) joins default and fleet, the lane with two steps to the other's three: move it when the
# summary's step times say the lanes are uneven.
# Usage: tests/molecule/run.sh ROLE_TESTS   (from make molecule, which puts the virtual environment on
# PATH and gives the role tests' command line, the lab hosts of their own included, as one argument)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
logs=$(mktemp -d /tmp/llmops-molecule.XXXXXX)
trap 'rm -rf "$logs"' EXIT

role_tests=${1:?usage: tests/molecule/run.sh ROLE_TESTS}

step() {  # a scenario's name, or "roles": the command line ROLE_TESTS
  if [ "$1" = roles ]; then
    bash -c "$role_tests"
  else
    molecule test --scenario-name "$1"
  fi
}

lane() {  # LANE STEP...: every step in order, even after one fails (a failure must not hide the steps after it);
  # fails if any failed
  local name=$1 each start rc status=0
  shift
  for each in "$@"; do
    start=$SECONDS
    echo "=== $name: $each"
    rc=0
    step "$each" || rc=$?
    printf '%-6s %-11s %-7s %4ds\n' "$name" "$each" "$([ "$rc" -eq 0 ] && echo ok || echo FAILED)" \
      $((SECONDS - start)) >>"$logs/times"
    [ "$rc" -eq 0 ] || status=1
  done
  return "$status"
}

start=$SECONDS
lane lane1 default fleet ssh >"$logs/lane1.log" 2>&1 &
lane1=$!
lane lane2 podman open_webui roles >"$logs/lane2.log" 2>&1 &
lane2=$!
status=0
wait "$lane1" || status=1
wait "$lane2" || status=1
for name in lane1 lane2; do
  echo "=== molecule $name, whole output"
  cat "$logs/$name.log"
done
echo "=== molecule summary (the two lanes ran at the same time)"
sort "$logs/times"
printf '%-6s %-11s %-7s %4ds\n' both wall "$([ "$status" -eq 0 ] && echo ok || echo FAILED)" $((SECONDS - start))
exit "$status"
