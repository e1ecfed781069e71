#!/bin/sh
# Runs INSIDE a llmops-lab/debian:12 container (see lab/images/build-lobehub-deps), with this folder
# at /src. Installs Debian 12's Redis 7 (redis-server, redis-cli) and lays the file system out as the
# official redis:7 image has it where the lobechat role relies on it: user and group redis with
# uid/gid 999, working directory and volume /data owned by redis, the entry point docker-entrypoint.sh.
# Debian 12, not 13: LobeHub's deploy compose runs Redis 7 (redis:7-alpine); Debian 13 has Redis 8.
set -eu
export DEBIAN_FRONTEND=noninteractive

cat >/etc/dpkg/dpkg.cfg.d/llmops-nodoc <<'CFG'
path-exclude=/usr/share/doc/*
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
CFG
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d

if getent group 999 >/dev/null && [ "$(getent group 999 | cut -d: -f1)" != redis ]; then
  groupdel "$(getent group 999 | cut -d: -f1)"
fi
getent group redis >/dev/null || groupadd --system --gid 999 redis
getent passwd redis >/dev/null ||
  useradd --system --uid 999 --gid redis --home-dir /var/lib/redis --shell /usr/sbin/nologin redis

apt-get -qq update >/dev/null
apt-get -qq install -y --no-install-recommends -o Dpkg::Options::=--force-confold redis-server >/dev/null
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log /usr/sbin/policy-rc.d

install -d -o redis -g redis -m 755 /data
install -m 755 /src/redis-entrypoint /usr/local/bin/docker-entrypoint.sh

redis-server --version
