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

rm -rf "$dest"
mkdir -p "$dest"
# Everything galaxy.yml's build_ignore leaves in, plus the collection's own tests (unit, sanity,
# integration); other tests/ directories belong to the lab and the roles' harnesses.
tar -C "$root" -cf - \
  --exclude=./.git --exclude=./.venv --exclude=./build --exclude=./lab --exclude=./bench \
  --exclude=./.ci --exclude=./.cache --exclude=./molecule --exclude='./roles/*/molecule' --exclude=./tests \
  --exclude=__pycache__ --exclude=.pytest_cache --exclude='*.tar.gz' \
  . | tar -C "$dest" -xf -
for part in unit sanity integration; do
  if [ -d "$root/tests/$part" ]; then
    mkdir -p "$dest/tests"
    tar -C "$root/tests" -cf - --exclude=__pycache__ --exclude=.pytest_cache "$part" | tar -C "$dest/tests" -xf -
  fi
done

# ansible-test lists files with git when it finds a .git above the collection, and the checkout's
# .git would hide build/ entirely; an empty repository of its own makes it list the copied files
# (as untracked) instead. Nothing is ever added or committed there.
git init -q "$dest"

cd "$dest"
PATH="$venv_bin:$PATH" exec ansible-test sanity --venv --python 3.11 --color no "$@"
