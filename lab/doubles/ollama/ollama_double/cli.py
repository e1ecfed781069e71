"""The `ollama` command: serve, list, pull and --version, as in the real image."""

import argparse
import datetime
import json
import re
import signal
import sys
import time
import urllib.error
import urllib.request

from . import config

NOT_RUNNING = "Error: could not connect to ollama server, run 'ollama serve' to start it"


def _get(path, timeout=5):
    with urllib.request.urlopen(config.connectable_host() + path, timeout=timeout) as response:
        return json.loads(response.read())


def human_bytes(count):
    """format.HumanBytes: decimal units, one decimal below 10."""
    for scale, unit in ((10**12, "TB"), (10**9, "GB"), (10**6, "MB"), (10**3, "KB")):
        if count >= scale:
            value = count / scale
            if value >= 10 or value == int(value):
                return f"{int(value)} {unit}"
            return f"{value:.1f} {unit}"
    return f"{count} B"


def human_time(modified_at, now=None):
    """format.HumanTime: 'Less than a second ago', 'About a minute ago', '3 days ago'."""
    stamp = re.sub(r"(\.\d{1,6})\d*", r"\1", modified_at).replace("Z", "+00:00")
    seconds = (now or time.time()) - datetime.datetime.fromisoformat(stamp).timestamp()
    if seconds < 1:
        return "Less than a second ago"
    units = ((60, 1, "second"), (3600, 60, "minute"), (86400, 3600, "hour"),
             (86400 * 14, 86400, "day"), (86400 * 60, 86400 * 7, "week"),
             (86400 * 365 * 2, 86400 * 30, "month"), (float("inf"), 86400 * 365, "year"))
    for limit, size, unit in units:
        if seconds < limit:
            value = int(seconds // size)
            if value == 1:
                return f"1 {unit} ago" if unit == "second" else \
                    f"About {'an' if unit == 'hour' else 'a'} {unit} ago"
            return f"{value} {unit}s ago"
    return "Never"


def cmd_list(_args):
    try:
        models = _get("/api/tags")["models"]
    except (OSError, urllib.error.URLError, ValueError):
        print(NOT_RUNNING, file=sys.stderr)
        return 1
    rows = [("NAME", "ID", "SIZE", "MODIFIED")]
    rows += [(m["name"], m["digest"][:12], human_bytes(m["size"]), human_time(m["modified_at"]))
             for m in models]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("".join(cell.ljust(widths[i] + 4) for i, cell in enumerate(row)))
    return 0


def cmd_pull(args):
    request = urllib.request.Request(
        config.connectable_host() + "/api/pull", method="POST",
        data=json.dumps({"model": args.model, "insecure": args.insecure}).encode(),
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=3600) as response:
            for line in response:
                item = json.loads(line)
                if "error" in item:
                    print(f"Error: {item['error']}", file=sys.stderr)
                    return 1
                progress = ""
                if item.get("total"):
                    progress = f" {100 * item.get('completed', 0) // item['total']}%"
                print(item["status"] + progress, flush=True)
    except urllib.error.HTTPError as err:
        print(f"Error: {json.loads(err.read()).get('error', err)}", file=sys.stderr)
        return 1
    except (OSError, urllib.error.URLError):
        print(NOT_RUNNING, file=sys.stderr)
        return 1
    return 0


def cmd_version(_args):
    try:
        server = _get("/api/version", timeout=2)["version"]
    except (OSError, urllib.error.URLError, ValueError, KeyError):
        print("Warning: could not connect to a running Ollama instance")
        print(f"Warning: client version is {config.version()}")
        return 0
    print(f"ollama version is {server}")
    if server != config.version():
        print(f"Warning: client version is {config.version()}")
    return 0


def cmd_serve(_args):
    from . import server

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    return server.serve()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="ollama", description="Large language model runner "
                                     "(the llmops lab's double)")
    parser.add_argument("-v", "--version", action="store_true", help="Show version information")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="Start ollama").set_defaults(func=cmd_serve)
    commands.add_parser("list", aliases=["ls"], help="List models").set_defaults(func=cmd_list)
    pull = commands.add_parser("pull", help="Pull a model from a registry")
    pull.add_argument("model")
    pull.add_argument("--insecure", action="store_true", help="Use an insecure registry")
    pull.set_defaults(func=cmd_pull)
    args = parser.parse_args(argv)
    if args.version:
        return cmd_version(args)
    if not args.command:
        parser.print_help()
        return 0
    return args.func(args)
