#!/usr/bin/env bash
# Start command of the lab's Open WebUI image, with the semantics of the official image's
# `bash start.sh` (run from /app/backend): listen on $HOST:$PORT (0.0.0.0:8080), take
# WEBUI_SECRET_KEY (or WEBUI_JWT_SECRET_KEY) from the environment, or else from
# /app/backend/.webui_secret_key, generated on first start (inside the container, not in the data
# volume: a re-created container gets a new key unless WEBUI_SECRET_KEY is given), trust forwarded
# headers from any proxy, UVICORN_WORKERS workers (1). The official script's extras (an Ollama
# inside the container, CUDA paths, Playwright, Hugging Face Spaces) do not apply to this image.
set -eu
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"

PORT="${PORT:-8080}"
HOST="${HOST:-0.0.0.0}"

if [ -z "${WEBUI_SECRET_KEY:-}${WEBUI_JWT_SECRET_KEY:-}" ]; then
  echo "Loading WEBUI_SECRET_KEY from file, not provided as an environment variable."
  if [ ! -e .webui_secret_key ]; then
    echo "Generating WEBUI_SECRET_KEY"
    (umask 077 && head -c 12 /dev/urandom | base64 >.webui_secret_key)
  fi
  echo "Loading WEBUI_SECRET_KEY from .webui_secret_key"
  WEBUI_SECRET_KEY=$(cat .webui_secret_key)
fi
export WEBUI_SECRET_KEY
# As `open-webui serve` (the package's own entry point) does: Open WebUI then takes its version
# from the installed package (the official image reads it from /app/package.json, which a pip
# install does not have; without this /api/version says 0.0.0) and DATA_DIR / FRONTEND_BUILD_DIR
# from the environment (the image sets them to the official paths).
export FROM_INIT_PY=true

exec python3 -m uvicorn open_webui.main:app --host "$HOST" --port "$PORT" \
  --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-*}" --workers "${UVICORN_WORKERS:-1}"
