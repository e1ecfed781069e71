#!/usr/bin/env bash
# Time to the first token and to the whole answer for one streamed chat through the HTTPS front
# door and Open WebUI, against the same prompt straight to Ollama; median of 5 each, interleaved.
# Writes bench/ui/RESULTS.md and docs/figures/ui.json (bench/ui/run.py has the details).
# The target: run.py's options, or the environment (LLMOPS_UI_URL or LLMOPS_BROWSER_URL,
# LLMOPS_UI_TOKEN or LLMOPS_BROWSER_EMAIL + LLMOPS_BROWSER_PASSWORD_FILE, LLMOPS_BROWSER_CA_FILE,
# LLMOPS_UI_OLLAMA_URL, LLMOPS_BROWSER_MODEL); with neither, the dev stack (tests/browser/dev_stack.sh)
# when it is up.
#   flock /tmp/llmops-molecule.lock bench/ui/run.sh [--runs 5] [--url ... --ollama-url ... ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
python=.venv/bin/python
[ -x "$python" ] || python=python3
if [ -z "${LLMOPS_UI_URL:-}${LLMOPS_BROWSER_URL:-}" ] && [[ " $* " != *" --url"* ]]; then
  if [ "$(docker inspect -f '{{.State.Running}}' llmops-browser-proxy 2>/dev/null)" != true ]; then
    echo "bench/ui: no target given and the dev stack is not up: run tests/browser/dev_stack.sh up, or give --url etc." >&2
    exit 2
  fi
  eval "$(tests/browser/dev_stack.sh env)"
fi
exec "$python" bench/ui/run.py "$@"
