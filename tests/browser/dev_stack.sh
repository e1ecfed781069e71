#!/usr/bin/env bash
# A development target for tests/browser and bench/ui on the build machine's engine: the Ollama
# double (qwen2.5:0.5b pulled from the lab registry), the lab's Open WebUI image (the real program)
# with an admin made from WEBUI_ADMIN_EMAIL/WEBUI_ADMIN_PASSWORD, and nginx (the lab's image of
# Debian's package) terminating TLS in front of it with a certificate signed by a throw-away CA made
# here with openssl. Only nginx is published: https://localhost:PORT/ (127.0.0.1 only).
#
#   tests/browser/dev_stack.sh up     # idempotent; prints the environment the test and bench read
#   tests/browser/dev_stack.sh env    # the same environment again (shell-sourceable)
#   tests/browser/dev_stack.sh down   # removes the containers, the volume and the state directory
#
# Needs `lab/bin/lab up` and `lab/bin/lab image open-webui`. State (CA, password, nginx config) in
# build/browser-dev (ignored by git). LLMOPS_DEV_HTTPS_PORT (default 8443) picks the port;
# OLLAMA_DOUBLE_TOKEN_DELAY (default the double's 0.01 s) the double's pace; LLMOPS_DEV_EXTRA_MODELS
# (default qwen:14b, empty for none) the models the double holds besides qwen2.5:0.5b.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck disable=SC1091
. "$root/lab/versions.env"
reg=127.0.0.1:5000
net=llmops-lab
state=$root/build/browser-dev
port=${LLMOPS_DEV_HTTPS_PORT:-8443}
ollama=llmops-browser-ollama
webui=llmops-browser-webui
proxy=llmops-browser-proxy
vol=llmops-browser-webui-data
email=admin@lab.example
model=qwen2.5:0.5b
# A second model, so that the browser test has to pick its model in the UI.
extra_models=${LLMOPS_DEV_EXTRA_MODELS-qwen:14b}

say() { printf 'dev_stack: %s\n' "$*" >&2; }
die() { printf 'dev_stack: FAIL: %s\n' "$*" >&2; exit 1; }
running() { [ "$(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }
ip_of() { docker inspect -f "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}" "$1"; }

print_env() {
  cat <<EOF
export LLMOPS_BROWSER_URL=https://localhost:$port/
export LLMOPS_BROWSER_EMAIL=$email
export LLMOPS_BROWSER_PASSWORD_FILE=$state/admin-password
export LLMOPS_BROWSER_MODEL=$model
export LLMOPS_BROWSER_CA_FILE=$state/ca.crt
export LLMOPS_UI_OLLAMA_URL=http://$(ip_of "$ollama"):11434
export LLMOPS_UI_WHERE="the dev stack (tests/browser/dev_stack.sh): nginx (the lab image of Debian 12's package) in a container published on 127.0.0.1, Open WebUI and the Ollama double in containers on the lab network, all on the build machine's Docker engine"
EOF
}

tls() {
  [ -s "$state/server.crt" ] && [ -s "$state/ca.crt" ] && return
  command -v openssl >/dev/null || "$root/lab/bin/apt-ensure" openssl
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=llmops dev-stack CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$state/ca.key" -out "$state/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$state/server.key" \
    -out "$state/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' \
    >"$state/server.ext"
  openssl x509 -req -in "$state/server.csr" -CA "$state/ca.crt" -CAkey "$state/ca.key" -CAcreateserial \
    -days 30 -extfile "$state/server.ext" -out "$state/server.crt" 2>/dev/null
  chmod 600 "$state/ca.key" "$state/server.key"
  # nginx's workers read the key as root-started master: 0600 root is enough.
}

nginx_conf() {
  cat >"$state/nginx.conf" <<EOF
worker_processes 1;
error_log /dev/stderr warn;
pid /run/nginx.pid;
events { worker_connections 256; }
http {
  access_log /dev/stdout;
  map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
  server {
    listen 443 ssl http2;  # Debian 12's nginx 1.22: no 'http2 on;'
    server_name localhost;
    ssl_certificate /etc/nginx/tls/server.crt;
    ssl_certificate_key /etc/nginx/tls/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    client_max_body_size 100m;
    add_header Strict-Transport-Security "max-age=31536000" always;
    add_header X-Content-Type-Options nosniff always;
    location / {
      proxy_pass http://$webui:8080;
      proxy_http_version 1.1;
      proxy_set_header Host \$host;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
      proxy_buffering off;
      proxy_cache off;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
    }
  }
}
EOF
}

up() {
  docker network inspect "$net" >/dev/null 2>&1 || die "no lab network: run lab/bin/lab up"
  docker image inspect "$reg/open-webui/open-webui:$OPEN_WEBUI_TAG" >/dev/null 2>&1 ||
    docker pull -q "$reg/open-webui/open-webui:$OPEN_WEBUI_TAG" >/dev/null 2>&1 ||
    die "no Open WebUI image: run lab/bin/lab image open-webui"
  mkdir -p "$state"
  chmod 700 "$state"
  [ -s "$state/admin-password" ] ||
    (umask 077; printf 'dev-%s' "$(head -c 12 /dev/urandom | base64 | tr -d '/+=')" >"$state/admin-password")
  [ -s "$state/secret-key" ] || (umask 077; head -c 24 /dev/urandom | base64 >"$state/secret-key")
  tls

  if ! running "$ollama"; then
    docker rm -f "$ollama" >/dev/null 2>&1 || true
    docker run -d --name "$ollama" --network "$net" --label llmops.lab=1 \
      ${OLLAMA_DOUBLE_TOKEN_DELAY:+-e "OLLAMA_DOUBLE_TOKEN_DELAY=$OLLAMA_DOUBLE_TOKEN_DELAY"} \
      "$reg/ollama/ollama:$OLLAMA_DEFAULT_TAG" >/dev/null
  fi
  local ourl
  ourl="http://$(ip_of "$ollama"):11434"
  for _ in $(seq 30); do curl -sf "$ourl/api/version" >/dev/null && break; sleep 1; done
  local m
  for m in $model $extra_models; do
    curl -sf "$ourl/api/tags" | grep -q "\"$m\"" ||
      curl -sf "$ourl/api/pull" -d "{\"model\": \"$m\", \"stream\": false}" | grep -q '"success"' ||
      die "the double did not pull $m"
  done
  say "Ollama double $ollama at $ourl with $model $extra_models"

  if ! running "$webui"; then
    docker rm -f "$webui" >/dev/null 2>&1 || true
    docker volume create --label llmops.lab=1 "$vol" >/dev/null
    docker run -d --name "$webui" --network "$net" --label llmops.lab=1 \
      -v "$vol:/app/backend/data" \
      -e "OLLAMA_BASE_URL=http://$ollama:11434" \
      -e "WEBUI_SECRET_KEY=$(cat "$state/secret-key")" \
      -e "WEBUI_ADMIN_EMAIL=$email" -e "WEBUI_ADMIN_PASSWORD=$(cat "$state/admin-password")" \
      -e "WEBUI_ADMIN_NAME=Lab Admin" -e ENABLE_SIGNUP=false \
      -e OFFLINE_MODE=true -e HF_HUB_OFFLINE=1 -e ENABLE_OPENAI_API=false \
      -e ANONYMIZED_TELEMETRY=false -e DO_NOT_TRACK=true -e SCARF_NO_ANALYTICS=true \
      -e "DEFAULT_MODELS=$model" \
      "$reg/open-webui/open-webui:$OPEN_WEBUI_TAG" >/dev/null
  fi
  local wurl end
  wurl="http://$(ip_of "$webui"):8080"
  end=$(( $(date +%s) + 300 ))
  until curl -sf "$wurl/health" 2>/dev/null | grep -q '"status": *true'; do
    running "$webui" || { docker logs --tail 40 "$webui" >&2 2>&1; die "Open WebUI exited"; }
    [ "$(date +%s)" -lt "$end" ] || die "Open WebUI's /health not true after 300 s"
    sleep 1
  done
  say "Open WebUI $webui healthy at $wurl"

  nginx_conf
  if ! running "$proxy" || ! docker exec "$proxy" cat /etc/nginx/nginx.conf 2>/dev/null | cmp -s - "$state/nginx.conf"; then
    docker rm -f "$proxy" >/dev/null 2>&1 || true
    docker run -d --name "$proxy" --network "$net" --label llmops.lab=1 -p "127.0.0.1:$port:443" \
      -v "$state/nginx.conf:/etc/nginx/nginx.conf:ro" \
      -v "$state/server.crt:/etc/nginx/tls/server.crt:ro" -v "$state/server.key:/etc/nginx/tls/server.key:ro" \
      "$reg/library/nginx:$NGINX_TAG" >/dev/null
  fi
  for _ in $(seq 30); do
    running "$proxy" || break
    curl -sf --cacert "$state/ca.crt" "https://localhost:$port/health" >/dev/null && break
    sleep 1
  done
  curl -sf --cacert "$state/ca.crt" "https://localhost:$port/health" >/dev/null ||
    { docker logs --tail 20 "$proxy" >&2 2>&1; die "https://localhost:$port/health does not answer"; }
  say "nginx $proxy: https://localhost:$port/ (CA $state/ca.crt)"
  print_env
}

down() {
  docker rm -f "$proxy" "$webui" "$ollama" >/dev/null 2>&1 || true
  docker volume rm "$vol" >/dev/null 2>&1 || true
  rm -rf "$state"
  say "removed"
}

case "${1:-}" in
  up) up ;;
  env) print_env ;;
  down) down ;;
  *) echo "usage: $0 up|env|down" >&2; exit 2 ;;
esac
