"""Ids, times and JSON as LobeHub and Better Auth write them."""

import datetime
import json
import secrets

_NANO = "1234567890abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_BA = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# packages/database/src/utils/idGenerator.ts
PREFIXES = {"agents": "agt", "messages": "msg", "sessions": "ssn", "topics": "tpc",
            "user": "user", "threads": "thd"}


def nanoid(size=12):
    """createNanoId(size)(): LobeHub's alphabet."""
    return "".join(secrets.choice(_NANO) for _ in range(size))


def id_for(namespace, size=12):
    """idGenerator(namespace, size): `<prefix>_<nanoid>`."""
    return f"{PREFIXES[namespace]}_{nanoid(size)}"


def user_id():
    """define-config.ts generateId for users: idGenerator('user', 32 - 'user_'.length)."""
    return id_for("user", 32 - len("user_"))


def better_auth_token(size=32):
    """Better Auth's generateId(32) (a-z, A-Z, 0-9): the session token."""
    return "".join(secrets.choice(_BA) for _ in range(size))


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(value):
    """Date.toJSON(): 2026-05-01T10:11:12.123Z."""
    if value is None:
        return None
    value = value.astimezone(datetime.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def naive_utc(value):
    """For `timestamp` (without time zone) columns, which Better Auth's tables use."""
    return value.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def dumps(obj):
    def default(value):
        if isinstance(value, datetime.datetime):
            return iso(value)
        raise TypeError(f"not JSON serialisable: {type(value).__name__}")
    return json.dumps(obj, default=default, separators=(",", ":"), ensure_ascii=False).encode()
