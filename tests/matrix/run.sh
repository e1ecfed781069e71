#!/usr/bin/env bash
# make matrix: sanity and unit tests on every ansible-core version in tests/matrix/versions, one
# after the other, then each version's time. Versions on Python 3.11 run on this machine; those
# that need Python 3.13 run in a container built from the lab's Debian 13 image, with pip pointed
# at this machine's CA bundle (the package index is reached through a CA only that bundle holds).
# Everything it installs is kept under build/matrix, so a second run needs no network: run it as
# `MATRIX_OFFLINE=1 unshare -n sh -c 'ip link set lo up && tests/matrix/run.sh'` to prove it (the
# containers then get no network either).
# Usage: tests/matrix/run.sh [MINOR...]   (default: every line of tests/matrix/versions)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
ca_bundle=/etc/ssl/certs/ca-certificates.crt

container_image() {
  # The lab's engine and Debian 13 base image (both cached), then this directory's Containerfile
  # on top, tagged by the base image's id and the Containerfile's content.
  docker info >/dev/null 2>&1 || flock /tmp/llmops-lab.lock lab/bin/lab up >&2 || return 1
  command -v debootstrap >/dev/null 2>&1 || lab/bin/apt-ensure debootstrap >&2 || return 1
  lab/images/build-base 13 >&2 || return 1
  local tag
  tag=$( { docker image inspect -f '{{.Id}}' llmops-lab/debian:13; cat tests/matrix/Containerfile; } | sha256sum | cut -c1-12)
  if ! docker image inspect "llmops-matrix/py313:$tag" >/dev/null 2>&1; then
    docker build -q -t "llmops-matrix/py313:$tag" -f tests/matrix/Containerfile tests/matrix >&2 || return 1
  fi
  echo "llmops-matrix/py313:$tag"
}

# The virtual environment's own version is the sanity and units stages' (make sanity, make units);
# repeating it here would only spend the time again.
venv_core=$(.venv/bin/python -c 'import ansible.release; print(ansible.release.__version__)') || exit 2

declare -a summary=() records=()
status=0
while read -r minor pin python where; do
  case "$minor" in ''|'#'*) continue ;; esac
  if [ "$#" -gt 0 ] && [[ " $* " != *" $minor "* ]]; then continue; fi
  if [ "$pin" = "$venv_core" ] && [ "$where" = host ]; then
    echo "tests/matrix/versions: $pin on the host is the virtual environment's own version (make sanity, make units)" >&2
    exit 2
  fi
  echo "=== matrix: ansible-core $pin on Python $python ($where)"
  start=$SECONDS
  case "$where" in
    host) tests/matrix/one.sh "$minor" "$pin" "$python" ;;
    debian13)
      image=$(container_image) &&
        docker run --rm ${MATRIX_OFFLINE:+--network none} -v "$root:$root" -w "$root" -v "$ca_bundle:/host-ca.crt:ro" \
          -e PIP_CERT=/host-ca.crt -e MATRIX_PIP_CERT=/host-ca.crt -e CI="${CI:-}" \
          "$image" tests/matrix/one.sh "$minor" "$pin" "$python" ;;
    *) echo "tests/matrix/versions: unknown place $where" >&2; false ;;
  esac
  rc=$?
  if [ "$rc" -eq 0 ]; then result=ok; else result=FAILED; status=1; fi
  summary+=("$(printf 'ansible-core %-8s Python %-5s %-7s %4ds' "$pin" "$python" "$result" $((SECONDS - start)))")
  records+=("$minor $pin $python $where $result $((SECONDS - start))")
done < tests/matrix/versions

echo "=== matrix summary"
printf '%s\n' "${summary[@]}"
echo "ansible-core $venv_core, the virtual environment's own: make sanity and make units"
# The whole matrix's figures, with the commit they measured (docs/figures/matrix.json).
if [ "$#" -eq 0 ]; then
  printf '%s\n' "${records[@]}" | python3 -c '
import json, sys
keys = ("minor", "ansible_core", "python", "where", "result", "seconds")
rows = [dict(zip(keys, line.split())) for line in sys.stdin if line.strip()]
for row in rows:
    row["seconds"] = int(row["seconds"])
print(json.dumps({"versions": rows, "total_s": sum(r["seconds"] for r in rows)}))' | python3 bench/provenance.py save matrix >/dev/null
fi
exit "$status"
