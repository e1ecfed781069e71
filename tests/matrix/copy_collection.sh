#!/bin/sh
# Copies the collection as ansible-test sees it (what galaxy.yml ships, plus tests/unit, sanity and
# integration) to DEST, which must end in ansible_collections/llmops/ollama; DEST is emptied first.
# An empty git repository of its own makes ansible-test list the copied files instead of asking the
# checkout's .git, which would hide build/. Nothing is ever committed there.
# Usage: tests/matrix/copy_collection.sh DEST
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
dest=${1:?usage: copy_collection.sh DEST}
case "$dest" in
  */ansible_collections/llmops/ollama) ;;
  *) echo "copy_collection.sh: $dest does not end in ansible_collections/llmops/ollama" >&2; exit 2 ;;
esac
rm -rf "$dest"
mkdir -p "$dest/tests"
tar -C "$root" -cf - \
  --exclude=./.git --exclude=./.venv --exclude=./build --exclude=./lab --exclude=./bench \
  --exclude=./.ci --exclude=./.cache --exclude=./molecule --exclude='./roles/*/molecule' --exclude=./tests \
  --exclude=__pycache__ --exclude=.pytest_cache --exclude='*.tar.gz' \
  . | tar -C "$dest" -xf -
for part in unit sanity integration; do
  if [ -d "$root/tests/$part" ]; then
    tar -C "$root/tests" -cf - --exclude=__pycache__ --exclude=.pytest_cache --exclude=output "$part" \
      | tar -C "$dest/tests" -xf -
  fi
done
git init -q "$dest"
