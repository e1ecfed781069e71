#!/usr/bin/env bash
# The collection as a Galaxy / Automation Hub reviewer sees it, without the lab (a few seconds):
#   1. installs the release tools pinned in requirements-release.txt into .venv (pip skips what
#      is already there, so a second run changes nothing);
#   2. antsibull-changelog lint: changelogs/config.yaml, changelog.yaml and every fragment;
#   3. ansible-builder create: meta/execution-environment.yml gives a build context (the image
#      itself is not built: its base image is not reachable from the build machines);
#   4. pytest tests/collection: metadata agreement, fragments, CHANGELOG.md, the built tarball.
# Usage: tests/collection/run.sh [extra pytest arguments]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
venv_bin=${VENV_BIN:-$root/.venv/bin}
if [ ! -x "$venv_bin/python" ]; then
  echo "tests/collection/run.sh: no virtual environment at $venv_bin (make venv creates it)" >&2
  exit 2
fi

echo "--- install the release tools (requirements-release.txt)"
"$venv_bin/pip" install -q --disable-pip-version-check -r requirements-release.txt

echo "--- antsibull-changelog lint"
"$venv_bin/antsibull-changelog" lint

echo "--- ansible-builder create -f meta/execution-environment.yml"
context=$(mktemp -d "${TMPDIR:-/tmp}/llmops-ee.XXXXXX")
trap 'rm -rf "$context"' EXIT
"$venv_bin/ansible-builder" create -f meta/execution-environment.yml --context "$context" \
  --output-filename Containerfile
ls "$context"

echo "--- pytest tests/collection"
# Same plugin as the Makefile's pytest runs: under CI=true a skip is a failure.
PYTHONPATH="$root/tests/pytest_plugins${PYTHONPATH:+:$PYTHONPATH}" \
  "$venv_bin/pytest" -q -rs -p ci_strict tests/collection "$@"
