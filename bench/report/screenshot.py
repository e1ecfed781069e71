#!/usr/bin/env python3
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Render a fleet report's HTML page to a PNG with Debian's headless Chromium, with no network.

Chromium runs under `unshare -n` (a new network namespace with only a down loopback), as root, so
the page can load nothing from anywhere; what shows is what the file itself holds. Installs
chromium with lab/bin/apt-ensure when missing.

Usage: python3 bench/report/screenshot.py HTML PNG [--width 1100] [--height 1500]
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def png_size(path):
    """(width, height) of a PNG file; ValueError when it is not one."""
    with open(path, "rb") as handle:
        head = handle.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError("%s is not a PNG file" % path)
    return struct.unpack(">II", head[16:24])


def render(html, png, width=1100, height=1500):
    """Write png from html; returns its (width, height)."""
    if not shutil.which("chromium"):
        subprocess.run([os.path.join(ROOT, "lab", "bin", "apt-ensure"), "chromium"], check=True)
    with tempfile.TemporaryDirectory() as profile:
        out = os.path.join(profile, "shot.png")
        args = ["unshare", "-n", "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--no-first-run", "--user-data-dir=" + profile, "--window-size=%d,%d" % (width, height),
                "--screenshot=" + out, "file://" + os.path.abspath(html)]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False,
                              env=dict(os.environ, HOME=profile))
        if proc.returncode != 0 or not os.path.exists(out):
            raise SystemExit("chromium failed (rc %s):\n%s" % (proc.returncode, (proc.stdout + proc.stderr)[-3000:]))
        size = png_size(out)
        os.makedirs(os.path.dirname(os.path.abspath(png)), exist_ok=True)
        shutil.copyfile(out, png)
    return size


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html")
    parser.add_argument("png")
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--height", type=int, default=1500)
    args = parser.parse_args()
    print("%s: %dx%d" % ((args.png,) + render(args.html, args.png, args.width, args.height)))


if __name__ == "__main__":
    main()
