#!/bin/sh
# Runs INSIDE a llmops-lab/debian:13 container (see lab/images/build-lobehub-deps), with this folder
# at /src. Installs Debian 13's PostgreSQL 17 and pgvector and lays the file system out the way the
# official pgvector/pgvector:pg17 image (which is the official postgres:17 image plus pgvector) has
# it where the lobechat role relies on it:
#   user and group postgres with uid/gid 999, data in /var/lib/postgresql/data (PGDATA), the unix
#   socket directory /var/run/postgresql, the server's own binaries first on PATH (set by the
#   image's metadata), /docker-entrypoint-initdb.d, and the entry point docker-entrypoint.sh.
# Debian's packaging creates a cluster and starts it from its maintainer scripts: neither is wanted
# in an image (the entry point makes the cluster on first start), so both are stopped here.
set -eu
export DEBIAN_FRONTEND=noninteractive

cat >/etc/dpkg/dpkg.cfg.d/llmops-nodoc <<'CFG'
path-exclude=/usr/share/doc/*
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
CFG
# No daemon started by a package's maintainer scripts while the image is built.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d

# uid/gid 999 as the official image, so a data volume keeps the same owner under either image.
# The base image gives gid 999 to systemd-journal, which nothing in this image uses.
if getent group 999 >/dev/null && [ "$(getent group 999 | cut -d: -f1)" != postgres ]; then
  groupdel "$(getent group 999 | cut -d: -f1)"
fi
getent group postgres >/dev/null || groupadd --system --gid 999 postgres
getent passwd postgres >/dev/null ||
  useradd --system --uid 999 --gid postgres --home-dir /var/lib/postgresql --shell /bin/bash postgres
mkdir -p /var/lib/postgresql && chown postgres:postgres /var/lib/postgresql

# Debian's postgresql-common: do not create the "main" cluster when the server package is installed.
mkdir -p /etc/postgresql-common
printf 'create_main_cluster = false\n' >/etc/postgresql-common/createcluster.conf

apt-get -qq update >/dev/null
apt-get -qq install -y --no-install-recommends -o Dpkg::Options::=--force-confold \
  postgresql-17 postgresql-17-pgvector >/dev/null
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log /usr/sbin/policy-rc.d
# If a cluster was made after all (an older postgresql-common), remove it: the entry point makes one.
if [ -d /etc/postgresql/17 ]; then
  pg_dropcluster --stop 17 main 2>/dev/null || true
  rm -rf /etc/postgresql/17 /var/lib/postgresql/17
fi

install -d -o postgres -g postgres -m 3777 /var/run/postgresql
install -d -o postgres -g postgres -m 1777 /var/lib/postgresql/data
install -d -m 755 /docker-entrypoint-initdb.d
install -m 755 /src/postgres-entrypoint /usr/local/bin/docker-entrypoint.sh

/usr/lib/postgresql/17/bin/postgres --version
dpkg-query -W -f='pgvector ${Version}\n' postgresql-17-pgvector
