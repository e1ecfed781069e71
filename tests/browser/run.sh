#!/usr/bin/env bash
# The browser test (tests/browser/test_open_webui_browser.py) with what it needs: Debian's chromium
# and chromium-driver, libnss3-tools (to make Chromium trust the front door's CA in a throw-away
# NSS database), a CJK font (the prompt is Chinese) and the project's virtual environment (Selenium).
# The target comes from the environment (LLMOPS_BROWSER_*, see the test) or from the arguments:
#   tests/browser/run.sh [URL EMAIL PASSWORD_FILE MODEL CA_FILE|insecure]
#   eval "$(tests/browser/dev_stack.sh up)" && tests/browser/run.sh
# LLMOPS_BROWSER_SCREENSHOT=docs/screenshots/open_webui_chat.png keeps the screenshot.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$#" -gt 0 ]; then
  [ "$#" -eq 5 ] || { echo "usage: $0 [URL EMAIL PASSWORD_FILE MODEL CA_FILE|insecure]" >&2; exit 2; }
  export LLMOPS_BROWSER_URL=$1 LLMOPS_BROWSER_EMAIL=$2 LLMOPS_BROWSER_PASSWORD_FILE=$3 \
    LLMOPS_BROWSER_MODEL=$4 LLMOPS_BROWSER_CA_FILE=$5
fi
"$root/lab/bin/apt-ensure" chromium chromium-driver libnss3-tools fonts-wqy-zenhei
make -C "$root" --no-print-directory venv >/dev/null
cd "$root"
PYTHONPATH="$root/tests/pytest_plugins" exec "$root/.venv/bin/pytest" -q -rs -p ci_strict -s \
  tests/browser/test_open_webui_browser.py
