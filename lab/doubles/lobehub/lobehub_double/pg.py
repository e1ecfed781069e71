"""A small PostgreSQL client speaking the frontend/backend protocol 3.0 over TCP (stdlib only).

What the stand-in needs and no more: startup, password authentication (SCRAM-SHA-256 as the lab
image and PostgreSQL 14+ default to, MD5 and cleartext as older servers may ask), the simple
query protocol for the schema script, and the extended protocol (Parse/Bind/Execute/Sync, every
parameter sent as text, the server infers its type) for everything else, as node-postgres does
in the real image. No TLS: `sslmode=require` or `verify-*` in DATABASE_URL is refused.
"""

import base64
import datetime
import decimal
import hashlib
import hmac
import json
import os
import queue
import socket
import struct
import threading
import urllib.parse


class PgError(Exception):
    """An ErrorResponse from the server (fields: S severity, C SQLSTATE, M message, ...)."""

    def __init__(self, fields):
        self.fields = fields
        self.sqlstate = fields.get("C", "")
        super().__init__(fields.get("M", "database error"))


class PgConnectError(Exception):
    """The server could not be reached or refused the login."""


def parse_url(url):
    """postgres[ql]://user:password@host:port/dbname?options -> dict; raises ValueError."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError("DATABASE_URL must start with postgres:// or postgresql://")
    query = dict(urllib.parse.parse_qsl(parts.query))
    if query.get("sslmode") in ("require", "verify-ca", "verify-full"):
        raise ValueError(f"sslmode={query['sslmode']}: this stand-in speaks no TLS")
    return {
        "host": parts.hostname or "localhost",
        "port": parts.port or 5432,
        "user": urllib.parse.unquote(parts.username or "postgres"),
        "password": urllib.parse.unquote(parts.password or ""),
        "database": urllib.parse.unquote(parts.path.lstrip("/")) or
        urllib.parse.unquote(parts.username or "postgres"),
    }


# ---- value conversion ------------------------------------------------------------------------
def _to_text(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":")).encode()
    if isinstance(value, datetime.datetime):
        return value.isoformat().encode()
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def _timestamp(text):
    # PostgreSQL text output: 2026-05-01 10:11:12.123456+00 (timestamptz) or without offset.
    if len(text) > 3 and text[-3] in "+-" and text[-2:].isdigit():
        text += ":00"
    value = datetime.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value


def _text_array(text):
    """text[] output: {a,"b c",NULL} -> list (one dimension)."""
    inner, out, item, quoted, escape, was_quoted = text[1:-1], [], "", False, False, False
    if not inner:
        return []
    for char in inner:
        if escape:
            item, escape = item + char, False
        elif char == "\\":
            escape = True
        elif char == '"':
            quoted, was_quoted = not quoted, True
        elif char == "," and not quoted:
            out.append(None if item == "NULL" and not was_quoted else item)
            item, was_quoted = "", False
        else:
            item += char
    out.append(None if item == "NULL" and not was_quoted else item)
    return out


_CONVERT = {
    1009: _text_array, 1015: _text_array,      # text[], varchar[]
    16: lambda t: t == "t",                    # bool
    20: int, 21: int, 23: int, 26: int,        # int8, int2, int4, oid
    700: float, 701: float,                    # float4, float8
    1700: decimal.Decimal,                     # numeric
    114: json.loads, 3802: json.loads,         # json, jsonb
    1114: _timestamp, 1184: _timestamp,        # timestamp, timestamptz
}


class Connection:
    """One authenticated session; not thread-safe (the Pool hands it to one thread at a time)."""

    def __init__(self, url, timeout=10.0, application_name="lobehub"):
        cfg = parse_url(url)
        self.cfg = cfg
        try:
            self.sock = socket.create_connection((cfg["host"], cfg["port"]), timeout=timeout)
        except OSError as exc:
            raise PgConnectError(f"connect {cfg['host']}:{cfg['port']}: {exc}") from exc
        self.sock.settimeout(None)
        self.rfile = self.sock.makefile("rb")
        self.params = {}
        self._startup(application_name)

    # -- framing --
    def _send(self, kind, payload=b""):
        self.sock.sendall(kind + struct.pack("!I", len(payload) + 4) + payload)

    def _recv(self):
        head = self.rfile.read(5)
        if len(head) < 5:
            raise PgConnectError("the server closed the connection")
        kind, size = head[:1], struct.unpack("!I", head[1:])[0]
        return kind, self.rfile.read(size - 4)

    @staticmethod
    def _error_fields(payload):
        fields = {}
        for item in payload.split(b"\0"):
            if item:
                fields[item[:1].decode()] = item[1:].decode("utf-8", "replace")
        return fields

    # -- startup and authentication --
    def _startup(self, application_name):
        cfg = self.cfg
        body = struct.pack("!I", 196608)
        for key, value in (("user", cfg["user"]), ("database", cfg["database"]),
                           ("application_name", application_name), ("client_encoding", "UTF8")):
            body += key.encode() + b"\0" + value.encode() + b"\0"
        body += b"\0"
        self.sock.sendall(struct.pack("!I", len(body) + 4) + body)
        scram = None
        while True:
            kind, payload = self._recv()
            if kind == b"R":
                code = struct.unpack("!I", payload[:4])[0]
                if code == 0:
                    continue
                if code == 3:  # cleartext
                    self._send(b"p", cfg["password"].encode() + b"\0")
                elif code == 5:  # md5
                    salt = payload[4:8]
                    inner = hashlib.md5((cfg["password"] + cfg["user"]).encode()).hexdigest()
                    outer = hashlib.md5(inner.encode() + salt).hexdigest()
                    self._send(b"p", b"md5" + outer.encode() + b"\0")
                elif code == 10:  # SASL: mechanisms
                    mechanisms = [m.decode() for m in payload[4:].split(b"\0") if m]
                    if "SCRAM-SHA-256" not in mechanisms:
                        raise PgConnectError(f"no supported SASL mechanism in {mechanisms}")
                    scram = _Scram(cfg["password"])
                    first = scram.client_first()
                    self._send(b"p", b"SCRAM-SHA-256\0" + struct.pack("!I", len(first)) + first)
                elif code == 11:  # SASL continue
                    self._send(b"p", scram.client_final(payload[4:]))
                elif code == 12:  # SASL final
                    scram.verify_server(payload[4:])
                else:
                    raise PgConnectError(f"unsupported authentication method {code}")
            elif kind == b"E":
                fields = self._error_fields(payload)
                raise PgConnectError(fields.get("M", "login refused"))
            elif kind == b"S":
                key, value = payload.rstrip(b"\0").split(b"\0", 1)
                self.params[key.decode()] = value.decode()
            elif kind == b"Z":
                return
            # K (backend key data), N (notice): nothing to do

    # -- queries --
    def script(self, sql):
        """Runs SQL (several statements allowed) with the simple protocol; raises PgError."""
        self._send(b"Q", sql.encode() + b"\0")
        error = None
        while True:
            kind, payload = self._recv()
            if kind == b"E":
                error = PgError(self._error_fields(payload))
            elif kind == b"Z":
                if error:
                    raise error
                return

    def query(self, sql, params=()):
        """Runs one statement with $1..$n text parameters; returns a list of dict rows."""
        body = b"\0" + sql.encode() + b"\0" + struct.pack("!H", 0)
        self._send(b"P", body)
        values = [_to_text(p) for p in params]
        bind = b"\0\0" + struct.pack("!HH", 0, len(values))
        for value in values:
            if value is None:
                bind += struct.pack("!i", -1)
            else:
                bind += struct.pack("!i", len(value)) + value
        bind += struct.pack("!HH", 1, 0)
        self._send(b"B", bind)
        self._send(b"D", b"P\0")
        self._send(b"E", b"\0" + struct.pack("!I", 0))
        self._send(b"S")
        columns, rows, error = [], [], None
        while True:
            kind, payload = self._recv()
            if kind == b"T":
                columns = self._row_description(payload)
            elif kind == b"D":
                rows.append(self._data_row(payload, columns))
            elif kind == b"E":
                error = PgError(self._error_fields(payload))
            elif kind == b"Z":
                if error:
                    raise error
                return rows
            # 1 ParseComplete, 2 BindComplete, n NoData, C CommandComplete, N notice, S status

    @staticmethod
    def _row_description(payload):
        count = struct.unpack("!H", payload[:2])[0]
        pos, columns = 2, []
        for _ in range(count):
            end = payload.index(b"\0", pos)
            name = payload[pos:end].decode()
            type_oid = struct.unpack("!I", payload[end + 7:end + 11])[0]
            columns.append((name, _CONVERT.get(type_oid)))
            pos = end + 19
        return columns

    @staticmethod
    def _data_row(payload, columns):
        count = struct.unpack("!H", payload[:2])[0]
        pos, row = 2, {}
        for index in range(count):
            size = struct.unpack("!i", payload[pos:pos + 4])[0]
            pos += 4
            name, convert = columns[index]
            if size < 0:
                row[name] = None
                continue
            text = payload[pos:pos + size].decode("utf-8")
            pos += size
            row[name] = convert(text) if convert else text
        return row

    def close(self):
        try:
            self._send(b"X")
        except OSError:
            pass
        try:
            self.rfile.close()
            self.sock.close()
        except OSError:
            pass


class _Scram:
    """SCRAM-SHA-256 (RFC 5802/7677) as PostgreSQL uses it: empty user name, no channel binding."""

    def __init__(self, password):
        self.password = password.encode()
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = f"n=,r={self.nonce}"
        self.auth_message = None
        self.salted = None

    def client_first(self):
        return ("n,," + self.first_bare).encode()

    def client_final(self, server_first):
        text = server_first.decode()
        attrs = dict(item.split("=", 1) for item in text.split(","))
        if not attrs["r"].startswith(self.nonce):
            raise PgConnectError("SCRAM: the server's nonce does not extend ours")
        salt, iterations = base64.b64decode(attrs["s"]), int(attrs["i"])
        self.salted = hashlib.pbkdf2_hmac("sha256", self.password, salt, iterations)
        client_key = hmac.new(self.salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = f"c=biws,r={attrs['r']}"
        self.auth_message = f"{self.first_bare},{text},{without_proof}".encode()
        signature = hmac.new(stored_key, self.auth_message, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def verify_server(self, server_final):
        attrs = dict(item.split("=", 1) for item in server_final.decode().split(","))
        server_key = hmac.new(self.salted, b"Server Key", hashlib.sha256).digest()
        expected = hmac.new(server_key, self.auth_message, hashlib.sha256).digest()
        if not hmac.compare_digest(base64.b64decode(attrs.get("v", "")), expected):
            raise PgConnectError("SCRAM: the server's signature does not verify")


class Pool:
    """A few connections shared by the request threads; a broken connection is replaced."""

    def __init__(self, url, size=4):
        self.url = url
        self.size = size
        self._idle = queue.LifoQueue()
        self._count = 0
        self._lock = threading.Lock()

    def _get(self):
        """(connection, reused): an idle one, else a new one while the pool has room, else the next one freed."""
        try:
            return self._idle.get_nowait(), True
        except queue.Empty:
            pass
        with self._lock:
            if self._count < self.size:
                self._count += 1
                try:
                    return Connection(self.url), False
                except Exception:
                    self._count -= 1
                    raise
        return self._idle.get(timeout=30), True

    def _put(self, conn, broken):
        if broken:
            conn.close()
            with self._lock:
                self._count -= 1
        else:
            self._idle.put(conn)

    def _begin(self):
        """A connection inside BEGIN. An idle connection the server has closed since (Postgres restarted or
        re-created: it ends every session with FATAL 57P01) is dropped and another taken, as node-postgres' Pool drops
        an idle client on its error event; at most every connection of the pool once, then a new one."""
        for _attempt in range(self.size + 1):
            conn, reused = self._get()
            try:
                conn.script("BEGIN")
                return conn
            except (OSError, PgConnectError, PgError):
                self._put(conn, True)
                if not reused:
                    raise
        raise PgConnectError("no connection to the database after %d tries" % (self.size + 1))

    def run(self, work):
        """work(conn) inside BEGIN/COMMIT (ROLLBACK on an exception); returns its result."""
        conn = self._begin()
        broken = False
        try:
            try:
                result = work(conn)
            except PgError:
                conn.script("ROLLBACK")
                raise
            except Exception:
                try:
                    conn.script("ROLLBACK")
                except Exception:  # noqa: BLE001 - the original error matters
                    broken = True
                raise
            conn.script("COMMIT")
            return result
        except (OSError, PgConnectError):
            broken = True
            raise
        finally:
            self._put(conn, broken)

    def query(self, sql, params=()):
        return self.run(lambda conn: conn.query(sql, params))
