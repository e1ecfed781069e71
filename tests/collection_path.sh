#!/bin/sh
# Make build/collections/ansible_collections/llmops/ollama point at this checkout and print
# build/collections, the value for ANSIBLE_COLLECTIONS_PATH:
#   export ANSIBLE_COLLECTIONS_PATH="$(tests/collection_path.sh)"
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
ns_dir="$root/build/collections/ansible_collections/llmops"
mkdir -p "$ns_dir"
# Left alone when it is right already: replacing it would leave a moment without it for a run reading it.
[ "$(readlink "$ns_dir/ollama" 2>/dev/null)" = "$root" ] || ln -sfn "$root" "$ns_dir/ollama"
echo "$root/build/collections"
