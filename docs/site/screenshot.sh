#!/usr/bin/env bash
# A screenshot of one page of the built documentation site (make docs first), taken by Debian's
# headless Chromium with no network at all (unshare -n), saved as docs/screenshots/PAGE.png.
# Usage: docs/site/screenshot.sh [PAGE]   (default: ollama_model_module)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
page=${1:-ollama_model_module}
html=$root/build/docs/html/$page.html
[ -f "$html" ] || { echo "screenshot: $html is missing; run make docs first" >&2; exit 1; }
command -v chromium >/dev/null 2>&1 || "$root/lab/bin/apt-ensure" chromium
mkdir -p "$root/docs/screenshots"
profile=$(mktemp -d "${TMPDIR:-/tmp}/llmops-chromium.XXXXXX")
trap 'rm -rf "$profile"' EXIT
out=$root/docs/screenshots/$page.png
# As root Chromium needs --no-sandbox; unshare -n leaves it only a loopback interface.
unshare -n chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
  --user-data-dir="$profile" --window-size=1280,1400 --screenshot="$out" "file://$html" 2>"$profile/log" \
  || { cat "$profile/log" >&2; exit 1; }
[ -s "$out" ] || { echo "screenshot: Chromium wrote no image" >&2; cat "$profile/log" >&2; exit 1; }
echo "screenshot: $out ($(stat -c %s "$out") bytes)"
