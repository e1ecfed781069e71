# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What an HTML page would load from elsewhere: scripts, styles, fonts, images, frames.

Links a reader may follow (<a href>) load nothing and are not counted.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

REMOTE = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
# url(...) and @import in CSS, which is how fonts and further styles are loaded.
CSS_LOAD = re.compile(r"""url\(\s*['"]?\s*((?:https?:)?//[^'")\s]+)|@import\s+(?:url\()?\s*['"]?\s*((?:https?:)?//[^'")\s;]+)""",
                      re.IGNORECASE)
LOADING = {"script": ("src",), "img": ("src", "srcset"), "iframe": ("src",), "frame": ("src",), "embed": ("src",),
           "object": ("data",), "source": ("src", "srcset"), "audio": ("src",), "video": ("src", "poster"),
           "input": ("src",), "image": ("href", "xlink:href"), "use": ("href", "xlink:href"),
           "feimage": ("href", "xlink:href")}


class _Loads(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []
        self.scripts = 0
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "style":
            self._in_style = True
        if tag == "link" and attrs.get("href") and REMOTE.match(attrs["href"]):
            self.found.append("<link rel=%s href=%s>" % (attrs.get("rel"), attrs["href"]))
        for name in LOADING.get(tag, ()):
            if attrs.get(name) and REMOTE.match(attrs[name]):
                self.found.append("<%s %s=%s>" % (tag, name, attrs[name]))
        for match in CSS_LOAD.finditer(attrs.get("style") or ""):
            self.found.append("style attribute: %s" % (match.group(1) or match.group(2)))

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.found.extend("<style>: %s" % (m.group(1) or m.group(2)) for m in CSS_LOAD.finditer(data))


def external_loads(html):
    """(what the page would load from another origin, the number of <script> elements)."""
    parser = _Loads()
    parser.feed(html)
    parser.close()
    return parser.found, parser.scripts
