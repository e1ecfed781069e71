#!/usr/bin/env bash
# Times the collection's mirror fetch of a ~300 MiB model against curl downloading the same blobs
# from the same mirror, RUNS times each (default 5), interleaved, and writes the medians, MB/s,
# their ratio and the fetch's CPU seconds per GB to RESULTS.md and docs/figures/fetch.json
# (bench/fetch/run.py has the details). The model is built and pushed to the lab's mirror
# (llmops-lab-mirror, 127.0.0.1:5001) when the mirror lacks it (bench/fetch/model.py).
#   flock /tmp/llmops-molecule.lock bench/fetch/run.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
mirror=http://127.0.0.1:5001
python=.venv/bin/python
[ -x "$python" ] || python=python3

if ! curl -sf -o /dev/null "$mirror/v2/"; then
  echo "bench/fetch: the lab's mirror does not answer at $mirror/v2/; starting the lab" >&2
  flock /tmp/llmops-lab.lock lab/bin/lab up >/dev/null
fi
tests/collection_path.sh >/dev/null
exec "$python" bench/fetch/run.py --runs "$runs" --mirror "$mirror"
