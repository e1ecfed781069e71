#!/usr/bin/env python3
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the HTTPS front door and Open WebUI add to one chat: time to the first token and to the
whole answer, through the front door and Open WebUI against the same prompt straight to Ollama.

- ui: ``POST <url>/api/chat/completions`` with ``stream: true`` and the admin's bearer token, over
  HTTPS (certificate verified against --ca-file, or not with --insecure); Open WebUI answers in
  server-sent events (``data: {...}`` lines, OpenAI's chunk format, ``data: [DONE]`` last).
- ollama: ``POST <ollama-url>/api/chat`` with ``stream: true``; NDJSON, ``"done": true`` last.

Each request is one new connection (TCP, and TLS for the front door, inside the timing, as a
browser's first request); the clock starts before the connection is opened. First token: the
first chunk with non-empty content; whole answer: the end of the stream. Both answers must be the
same text. Runs interleaved (ui, ollama, ui, ...), median of --runs each after one warm-up each.
Writes RESULTS.md beside this file and docs/figures/ui.json (with the commit measured).

Usage (bench/ui/run.sh finds the target for you):
  run.py --url https://HOST/ (--token T | --email E --password-file F) (--ca-file F | --insecure)
         --ollama-url http://HOST:11434 --model M [--runs 5] [--prompt P]
Each option falls back to the environment: LLMOPS_UI_URL (or LLMOPS_BROWSER_URL), LLMOPS_UI_TOKEN,
LLMOPS_BROWSER_EMAIL, LLMOPS_BROWSER_PASSWORD_FILE, LLMOPS_BROWSER_CA_FILE (a path or "insecure"),
LLMOPS_UI_OLLAMA_URL, LLMOPS_BROWSER_MODEL.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import ssl
import statistics
import sys
import time
from datetime import datetime, timezone
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
import provenance  # noqa: E402  (bench/provenance.py)

PROMPT = "什么是大语言模型？"
TIMEOUT = 120


def _connection(url, context):
    parts = urlsplit(url)
    if parts.scheme == "https":
        return http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=TIMEOUT, context=context)
    if parts.scheme == "http":
        return http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=TIMEOUT)
    raise SystemExit("not an http(s) URL: %s" % url)


def _path(url, path):
    return (urlsplit(url).path.rstrip("/") + path) or "/"


def request_json(url, path, context, body=None, token=None, method=None):
    conn = _connection(url, context)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    try:
        conn.request(method or ("POST" if body is not None else "GET"), _path(url, path),
                     body=json.dumps(body).encode() if body is not None else None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise SystemExit("%s %s%s answered %d: %s" % (method or "POST" if body else "GET", url, path,
                                                          response.status, data[:300].decode("utf-8", "replace")))
        return json.loads(data), response.getheader("Server")
    finally:
        conn.close()


def stream(kind, url, path, body, context, token=None):
    """One streamed chat; seconds from before the connect to the connection (TCP+TLS) made, the
    response headers, the first non-empty content and the end of the stream, and the answer."""
    started = time.monotonic()
    conn = _connection(url, context)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    try:
        conn.connect()
        connected = time.monotonic()
        conn.request("POST", _path(url, path), body=json.dumps(body).encode(), headers=headers)
        response = conn.getresponse()
        headers_at = time.monotonic()
        if response.status != 200:
            raise SystemExit("%s: POST %s%s answered %d: %s" % (kind, url, path, response.status,
                                                                 response.read()[:300].decode("utf-8", "replace")))
        first = None
        parts = []
        ended = False
        while True:
            line = response.readline()
            if not line:
                break
            line = line.strip()
            if not line:
                continue
            if kind == "ui":
                if not line.startswith(b"data:"):
                    continue
                payload = line[5:].strip()
                if payload == b"[DONE]":
                    ended = True
                    continue
                chunk = json.loads(payload)
                if chunk.get("error"):
                    raise SystemExit("ui: Open WebUI streamed an error: %s" % chunk["error"])
                text = "".join((c.get("delta") or {}).get("content") or "" for c in chunk.get("choices") or [])
            else:
                chunk = json.loads(line)
                if chunk.get("error"):
                    raise SystemExit("ollama: the stream carries an error: %s" % chunk["error"])
                text = (chunk.get("message") or {}).get("content") or ""
                ended = ended or chunk.get("done") is True
            if text:
                if first is None:
                    first = time.monotonic()
                parts.append(text)
        finished = time.monotonic()
    finally:
        conn.close()
    if not ended:
        raise SystemExit("%s: the stream ended without its last message ([DONE] / done: true)" % kind)
    if first is None:
        raise SystemExit("%s: the stream carried no content" % kind)
    return {"connect_s": connected - started, "headers_s": headers_at - started, "first_token_s": first - started,
            "total_s": finished - started, "chunks": len(parts), "answer": "".join(parts)}


def _env(*names):
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=_env("LLMOPS_UI_URL", "LLMOPS_BROWSER_URL"),
                        help="the front door, https://HOST[:PORT]/")
    parser.add_argument("--token", default=_env("LLMOPS_UI_TOKEN"), help="the admin's API token (JWT)")
    parser.add_argument("--email", default=_env("LLMOPS_BROWSER_EMAIL"))
    parser.add_argument("--password-file", default=_env("LLMOPS_BROWSER_PASSWORD_FILE"))
    ca = _env("LLMOPS_BROWSER_CA_FILE")
    parser.add_argument("--ca-file", default=ca if ca != "insecure" else None)
    parser.add_argument("--insecure", action="store_true", default=ca == "insecure")
    parser.add_argument("--ollama-url", default=_env("LLMOPS_UI_OLLAMA_URL"), help="Ollama's API, http://HOST:11434")
    parser.add_argument("--model", default=_env("LLMOPS_BROWSER_MODEL"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--prompt", default=PROMPT)
    parser.add_argument("--where", default=_env("LLMOPS_UI_WHERE") or "",
                        help="one line on the target, for RESULTS.md (e.g. the dev stack, a molecule scenario)")
    args = parser.parse_args()
    missing = [name for name, value in (("--url", args.url), ("--ollama-url", args.ollama_url),
                                        ("--model", args.model)) if not value]
    if not args.token and not (args.email and args.password_file):
        missing.append("--token or --email and --password-file")
    if not args.ca_file and not args.insecure and urlsplit(args.url or "").scheme == "https":
        missing.append("--ca-file or --insecure")
    if missing:
        parser.error("missing: %s (or their environment variables)" % ", ".join(missing))
    if urlsplit(args.url).scheme != "https":
        parser.error("--url must be the HTTPS front door: %s" % args.url)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main():
    args = arguments()
    context = ssl.create_default_context(cafile=args.ca_file) if args.ca_file else ssl._create_unverified_context()
    token = args.token
    if not token:
        with open(args.password_file, encoding="utf-8") as handle:
            password = handle.read().strip()
        signed, _server = request_json(args.url, "/api/v1/auths/signin", context,
                                       {"email": args.email, "password": password})
        token = signed["token"]
    version, server = request_json(args.url, "/api/version", context)
    ollama_version, _ = request_json(args.ollama_url, "/api/version", None)
    messages = [{"role": "user", "content": args.prompt}]
    ways = {
        "ui": lambda: stream("ui", args.url, "/api/chat/completions",
                             {"model": args.model, "stream": True, "messages": messages}, context, token),
        "ollama": lambda: stream("ollama", args.ollama_url, "/api/chat",
                                 {"model": args.model, "stream": True, "messages": messages}, None),
    }
    samples = {way: [] for way in ways}
    load = [os.getloadavg()[0]]
    warm = {way: run() for way, run in ways.items()}  # warm-up: model loaded, connections' caches
    if warm["ui"]["answer"] != warm["ollama"]["answer"]:
        raise SystemExit("the answers differ:\n  ui:     %r\n  ollama: %r" % (warm["ui"]["answer"], warm["ollama"]["answer"]))
    answer = warm["ollama"]["answer"]
    for run in range(args.runs):
        for way, fn in ways.items():  # interleaved, so drifting machine load hits both alike
            sample = fn()
            if sample["answer"] != answer:
                raise SystemExit("%s answered %r, not %r" % (way, sample["answer"], answer))
            del sample["answer"]
            samples[way].append(sample)
            print("run %d %-6s first token %.3f s, whole answer %.3f s (%d chunks)" % (
                run + 1, way, sample["first_token_s"], sample["total_s"], sample["chunks"]), file=sys.stderr)
    load.append(os.getloadavg()[0])

    def med(way, key):
        return statistics.median(s[key] for s in samples[way])

    figures = {
        "runs": args.runs,
        "prompt": args.prompt,
        "model": args.model,
        "answer": answer,
        "answer_chunks": samples["ollama"][0]["chunks"],
        "ui_url": args.url,
        "ollama_url": args.ollama_url,
        "where": args.where,
        "open_webui_version": version.get("version"),
        "front_door_server": server,
        "ollama_version": ollama_version.get("version"),
        "tls_verified": bool(args.ca_file),
        "load_average_1min": {"start": "%.2f" % load[0], "end": "%.2f" % load[1]},
    }
    for way in ways:
        figures[way] = {key.replace("_s", "") + "_median_s": "%.3f" % med(way, key)
                        for key in ("connect_s", "headers_s", "first_token_s", "total_s")}
    ui_first, ui_total = med("ui", "first_token_s"), med("ui", "total_s")
    ol_first, ol_total = med("ollama", "first_token_s"), med("ollama", "total_s")
    figures["overhead"] = {
        "first_token_s": "%.3f" % (ui_first - ol_first),
        "total_s": "%.3f" % (ui_total - ol_total),
        "first_token_ratio": "%.1f" % (ui_first / ol_first),
        "total_ratio": "%.1f" % (ui_total / ol_total),
    }
    figures["samples"] = {way: [{k: round(v, 4) if isinstance(v, float) else v for k, v in s.items()} for s in data]
                          for way, data in samples.items()}
    write_results(figures)


def write_results(fig):
    ui, ol, over = fig["ui"], fig["ollama"], fig["overhead"]
    table = [
        "| one chat, streamed | connection (s) | response headers (s) | first token (s) | whole answer (s) |",
        "|---|---|---|---|---|",
        "| through the HTTPS front door and Open WebUI (`POST /api/chat/completions`) | %s | %s | %s | %s |" % (
            ui["connect_median_s"], ui["headers_median_s"], ui["first_token_median_s"], ui["total_median_s"]),
        "| straight to Ollama (`POST /api/chat`) | %s | %s | %s | %s |" % (
            ol["connect_median_s"], ol["headers_median_s"], ol["first_token_median_s"], ol["total_median_s"]),
        "| added by the front door and Open WebUI | | | +%s | +%s |" % (over["first_token_s"], over["total_s"]),
    ]
    lines = [
        "# What the front door and Open WebUI add to a chat",
        "",
        "**The answers come from the lab's Ollama double, not from a model**: it streams a fixed",
        "sentence (%d chunks, paced by its `OLLAMA_DOUBLE_TOKEN_DELAY`, 0.01 s by default) without any" % (
            fig["answer_chunks"]),
        "inference, so these figures are the overhead of the HTTPS proxy and Open WebUI %s (and of the" % (
            fig["open_webui_version"]),
        "network path to them), not a model's speed. With a real model the same overhead adds to seconds of generation.",
        "",
        "One chat, the prompt %s to `%s`, streamed, the same request both ways:" % (fig["prompt"], fig["model"]),
        "",
        "- through the front door: `POST %sapi/chat/completions` with `stream: true` and the admin's" % (
            fig["ui_url"] if fig["ui_url"].endswith("/") else fig["ui_url"] + "/"),
        "  bearer token, over HTTPS (%s; nginx answered as `%s`), Open WebUI relaying to Ollama and" % (
            "certificate verified against the lab CA" if fig["tls_verified"] else "certificate not verified",
            fig["front_door_server"]),
        "  turning its NDJSON into server-sent events;",
        "- straight to Ollama: `POST %s/api/chat` with `stream: true` (Ollama %s)." % (
            fig["ollama_url"].rstrip("/"), fig["ollama_version"]),
        "",
        "Every request opens a new connection (TCP, plus TLS for the front door) inside its timing; the",
        "clock starts before the connect. First token: the first chunk with non-empty content; whole",
        "answer: the end of the stream (`data: [DONE]` / `\"done\": true` and the connection's end).",
        "Both ways must give the same text (%r). Runs interleaved (front door, Ollama, ...)," % fig["answer"],
        "median of %d each after one warm-up each." % fig["runs"],
        "",
    ] + table + [
        "",
        "Ratio front door / straight: %sx to the first token, %sx to the whole answer." % (
            over["first_token_ratio"], over["total_ratio"]),
        "",
        "Target: %s" % (fig["where"] or "given on the command line"),
        "Measured %s on %s, Python %s, %d CPUs; client, proxy, Open WebUI and the double share them," % (
            datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), platform.platform(terse=True),
            platform.python_version(), os.cpu_count()),
        "1-minute load average %s at the start, %s at the end; every sample is in docs/figures/ui.json." % (
            fig["load_average_1min"]["start"], fig["load_average_1min"]["end"]),
        "",
        "Reproduce: `eval \"$(tests/browser/dev_stack.sh up)\" && flock /tmp/llmops-molecule.lock bench/ui/run.sh`",
        "(or `bench/ui/run.sh --url ... --ollama-url ...` against any front door; `run.py --help`).",
        "",
        "Measured at %s." % provenance.label_now(),
        "",
    ]
    with open(os.path.join(HERE, "RESULTS.md"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    provenance.save("ui", fig)
    print("\n".join(table + ["", "front door / straight: %sx first token, %sx whole answer; %s" % (
        over["first_token_ratio"], over["total_ratio"], provenance.label_now())]))


if __name__ == "__main__":
    try:
        main()
    except (OSError, socket.timeout, ssl.SSLError) as exc:
        raise SystemExit("bench/ui: %s" % exc)
