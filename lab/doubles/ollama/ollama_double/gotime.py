"""Go's time formats: RFC 3339 with trimmed nanoseconds, and time.ParseDuration."""

import re
import time

FOREVER_NS = 2**63 - 1  # Go's math.MaxInt64 duration, what a negative keep_alive becomes

_UNITS_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
             "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_DURATION = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")


def rfc3339(ns, utc=False):
    """time.Time JSON form: 2025-05-10T08:06:48.639712648-07:00 (trailing zeros trimmed)."""
    seconds, frac = divmod(ns, 1_000_000_000)
    parts = time.gmtime(seconds) if utc else time.localtime(seconds)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", parts)
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    offset = 0 if utc else parts.tm_gmtoff
    if offset == 0:
        return text + "Z"
    sign = "+" if offset > 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


def parse_duration(text):
    """time.ParseDuration -> nanoseconds; raises ValueError like Go does for bad input."""
    original = text
    sign = 1
    if text[:1] in "+-":
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return 0
    if not text:
        raise ValueError(f'time: invalid duration "{original}"')
    total, pos = 0.0, 0
    while pos < len(text):
        match = _DURATION.match(text, pos)
        if not match or match.group(1) in ("", "."):
            raise ValueError(f'time: invalid duration "{original}"')
        total += float(match.group(1)) * _UNITS_NS[match.group(2)]
        pos = match.end()
    return sign * int(total)


def keep_alive_ns(value, default_ns):
    """api.Duration semantics: number = seconds, string = Go duration; negative = forever."""
    if value is None:
        return default_ns
    if isinstance(value, bool):
        raise ValueError("json: cannot unmarshal bool into Go value of type api.Duration")
    if isinstance(value, (int, float)):
        ns = int(value * 1_000_000_000)
    else:
        try:
            ns = parse_duration(str(value))
        except ValueError:
            ns = int(float(value) * 1_000_000_000)  # "300" is accepted as seconds
    return FOREVER_NS if ns < 0 else ns
