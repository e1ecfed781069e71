#!/usr/bin/env bash
# make integration: ansible-test integration for every target in tests/integration/targets (one per
# module), run from this machine's .venv against an Ollama double, an upstream registry and an
# empty mirror registry that tests/integration/fixture.py starts on loopback for the run.
# The collection is copied to build/integration/ansible_collections/llmops/ollama first.
# Usage: tests/integration/run.sh [ansible-test integration arguments, e.g. a target name]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv_bin=${VENV_BIN:-$root/.venv/bin}
work=$root/build/integration
dest=$work/ansible_collections/llmops/ollama

"$root/lab/bin/apt-ensure" docker-registry
"$root/tests/matrix/copy_collection.sh" "$dest"
servers=$(mktemp -d "${TMPDIR:-/tmp}/llmops-integration.XXXXXX")
config=$dest/tests/integration/integration_config.yml

# The fixture runs until its standard input closes: the fifo's writer is this shell, so the
# servers stop when the script ends, however it ends.
mkfifo "$servers/control"
"$venv_bin/python" "$root/tests/integration/fixture.py" "$servers/work" "$config" \
  <"$servers/control" >"$servers/fixture.out" 2>&1 &
fixture=$!
exec 8>"$servers/control"
trap 'exec 8>&-; wait "$fixture" 2>/dev/null; rm -rf "$servers"' EXIT
for _ in $(seq 1 300); do
  grep -q '^ready$' "$servers/fixture.out" 2>/dev/null && break
  kill -0 "$fixture" 2>/dev/null || { cat "$servers/fixture.out" >&2; exit 1; }
  sleep 0.1
done
grep -q '^ready$' "$servers/fixture.out" || { echo "fixture did not start in 30 s" >&2; cat "$servers/fixture.out" >&2; exit 1; }
sed -n 's/^ollama_/  ollama_/p' "$config"

cd "$dest"
PATH="$venv_bin:$PATH" ansible-test integration --local --python 3.11 --color no "$@"
