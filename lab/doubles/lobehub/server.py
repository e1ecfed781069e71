#!/usr/bin/env python3
"""LobeHub 2.x stand-in for the lab: what /app/startServer.js does, then the server.

1. the deprecated-variable check (exit 1, boxed message), the gateway warnings;
2. the required settings (DATABASE_URL, KEY_VAULTS_SECRET, AUTH_SECRET: exit 1, naming them);
3. the database step (the real image's /app/docker.cjs migration): connect to DATABASE_URL, make
   the schema (exit 1 when Postgres cannot be reached or has no pgvector);
4. serve on $HOSTNAME:$PORT (0.0.0.0:3210).
See README.md for the endpoints and every way this is not LobeHub.
"""

import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from lobehub_double import pg, schema  # noqa: E402
from lobehub_double.app import serve  # noqa: E402
from lobehub_double.config import Settings, StartupError  # noqa: E402
from lobehub_double.redis import Redis  # noqa: E402

RULE = "-------------------------------------"


def say(text=""):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def warn_box(issues):
    sys.stderr.write("\n" + "═" * 70 + "\n⚠️  ACTION REQUIRED: configuration needs attention\n" +
                     "═" * 70 + "\n")
    for issue in issues:
        sys.stderr.write(f"\n⚠️ {issue}\n")
    sys.stderr.write("═" * 70 + "\n\n")
    sys.stderr.flush()


def migrate(settings):
    say("[Database] Start to migration...")
    try:
        conn = pg.Connection(settings.database_url)
        try:
            schema.migrate(conn)
        finally:
            conn.close()
    except (pg.PgError, pg.PgConnectError, OSError, ValueError) as err:
        sys.stderr.write("❌ Database migrate failed. Please check if your database is valid and "
                         "DATABASE_URL is set correctly. The error detail is below:\n")
        sys.stderr.write(f"{err}\n")
        if 'extension "vector" is not available' in str(err):
            sys.stderr.write(schema.PGVECTOR_HINT + "\n")
        sys.stderr.write("❌ Error during DB migration:\n")
        return False
    say("✅ database migration pass.")
    say(RULE)
    return True


def main():
    try:
        settings = Settings(dict(os.environ))
    except StartupError as err:
        sys.stderr.write(f"{err}\n")
        return 1
    if settings.warnings:
        warn_box(settings.warnings)
    if not migrate(settings):
        return 1
    try:
        redis = Redis(settings.redis_url, settings.redis_prefix) if settings.redis_url else None
    except ValueError as err:
        sys.stderr.write(f"REDIS_URL: {err}\n")
        return 1
    pool = pg.Pool(settings.database_url)
    httpd = serve(settings, pool, redis)
    say(f"   ▲ LobeHub {settings.version} (lab stand-in)")
    say(f"   - Local:        http://localhost:{settings.port}")
    say(f"   - Network:      http://{settings.hostname}:{settings.port}")
    say(" ✓ Ready")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    httpd.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
