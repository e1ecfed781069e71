#!/bin/sh
# ansible-test sanity needs the collection at .../ansible_collections/llmops/ollama: copy what the
# collection ships (plus its own tests) to build/sanity/ansible_collections/llmops/ollama and run it there.
# Each test gets its own virtualenv with ansible-test's pinned requirements (--venv), kept between
# runs under ~/.ansible/test, so only the first run downloads them.
# Usage: tests/sanity/run.sh [extra ansible-test sanity arguments, e.g. --test validate-modules]
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
venv_bin=${VENV_BIN:-$root/.venv/bin}
dest="$root/build/sanity/ansible_collections/llmops/ollama"

"$root/tests/sanity/bootstrap_pip.sh" "$venv_bin"

# What the collection ships plus its own tests, in a repository of its own (see the script).
"$root/tests/matrix/copy_collection.sh" "$dest"

cd "$dest"
PATH="$venv_bin:$PATH" exec ansible-test sanity --venv --python 3.11 --color no "$@"
