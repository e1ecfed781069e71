#!/bin/sh
# Runs INSIDE a llmops-lab/debian:12 container (see lab/images/build-open-webui), with the wheel
# cache at /wheels (read-only) and this folder at /src. Installs Open WebUI VERSION into the
# virtual environment /app/venv from the cache alone (no index), and lays /app out as the official
# image does: /app/backend (working directory, start.sh), /app/backend/data (the data directory).
#   install.sh VERSION
set -eu
version=${1:?usage: install.sh VERSION}
export DEBIAN_FRONTEND=noninteractive

# No documentation from the packages added here.
cat >/etc/dpkg/dpkg.cfg.d/llmops-nodoc <<'CFG'
path-exclude=/usr/share/doc/*
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
CFG
# jq: the official image's health check is `curl ... /health | jq -ne 'input.status == true'`.
apt-get -qq update >/dev/null
apt-get -qq install -y --no-install-recommends jq >/dev/null
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log

# The base image's python3 (Debian 12: 3.11, the official image's Python line). pip comes from
# the cache too (run from its wheel), so it is the only pip and it sees no index.
python3 -m venv --without-pip /app/venv
for pipwhl in /wheels/pip-*.whl; do :; done  # the cache holds one pip
/app/venv/bin/python3 "$pipwhl/pip" install --quiet --no-index --find-links /wheels \
  --no-cache-dir --disable-pip-version-check --constraint /src/constraints.txt \
  pip "open-webui==$version"
/app/venv/bin/python3 -m pip check >/dev/null || /app/venv/bin/python3 -m pip check || true

site=$(/app/venv/bin/python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
# Headers, CMake files and static libraries are for building extensions against torch: not run.
rm -rf "$site/torch/include" "$site/torch/share/cmake"
find "$site" -name '*.a' -path '*/torch/lib/*' -delete

mkdir -p /app/backend/data /root/.cache/chroma
install -m 755 /src/start.sh /app/backend/start.sh
# As the official image: a fixed, anonymous id for Chroma's telemetry client.
printf '%s' 00000000-0000-0000-0000-000000000000 >/root/.cache/chroma/telemetry_user_id
ln -sfn "$site/open_webui/frontend" /app/build
rm -rf /tmp/* /var/tmp/* /root/.cache/pip
du -sh /app/venv
