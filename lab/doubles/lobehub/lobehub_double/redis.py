"""A minimal Redis client (RESP2 over TCP, stdlib only) for Better Auth's secondary storage.

LobeHub passes Better Auth a secondaryStorage backed by Redis when REDIS_URL is set
(src/libs/better-auth/utils/config.ts, createSecondaryStorage: get/set with a TTL/delete of
`better-auth:`-prefixed keys); sessions are also kept in Postgres (storeSessionInDatabase).
"""

import socket
import threading
import urllib.parse


class RedisError(Exception):
    pass


class Redis:
    def __init__(self, url, prefix, timeout=5.0):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError("REDIS_URL must start with redis://")
        if parts.scheme == "rediss":
            raise ValueError("rediss:// (TLS): this stand-in speaks no TLS")
        self.host, self.port = parts.hostname or "localhost", parts.port or 6379
        self.username = urllib.parse.unquote(parts.username) if parts.username else None
        self.password = urllib.parse.unquote(parts.password) if parts.password else None
        self.db = int(parts.path.lstrip("/") or 0)
        self.prefix = prefix
        self.timeout = timeout
        self._lock = threading.Lock()
        self._sock = None
        self._rfile = None

    def _connect(self):
        self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self._rfile = self._sock.makefile("rb")
        if self.password:
            args = ["AUTH", self.password] if not self.username else ["AUTH", self.username,
                                                                      self.password]
            self._call(args)
        if self.db:
            self._call(["SELECT", str(self.db)])

    def _call(self, args):
        out = f"*{len(args)}\r\n".encode()
        for arg in args:
            data = arg.encode() if isinstance(arg, str) else arg
            out += b"$%d\r\n%s\r\n" % (len(data), data)
        self._sock.sendall(out)
        return self._reply()

    def _reply(self):
        line = self._rfile.readline()
        if not line:
            raise RedisError("connection closed")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self._rfile.read(size + 2)[:-2]
            return data.decode()
        if kind == b"*":
            return [self._reply() for _ in range(int(rest))]
        raise RedisError(f"unexpected reply {line!r}")

    def command(self, *args):
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._sock is None:
                        self._connect()
                    return self._call(list(args))
                except (OSError, RedisError) as exc:
                    if self._sock is not None:
                        self._sock.close()
                    self._sock = None
                    if attempt == 2 or isinstance(exc, RedisError) and "closed" not in str(exc):
                        raise RedisError(f"redis {self.host}:{self.port}: {exc}") from exc
        return None

    def key(self, key):
        return f"{self.prefix}:better-auth:{key}"

    def set(self, key, value, ttl=None):
        if ttl:
            return self.command("SET", self.key(key), value, "EX", str(int(ttl)))
        return self.command("SET", self.key(key), value)

    def get(self, key):
        return self.command("GET", self.key(key))

    def delete(self, key):
        return self.command("DEL", self.key(key))
