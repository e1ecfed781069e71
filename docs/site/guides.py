"""Turns the collection's Markdown guides into antsibull-docs "extra docs" in a collection copy.

    python3 docs/site/guides.py COLLECTION_DIR

For each guide in GUIDES: pandoc (Debian's) converts the Markdown to reStructuredText in
COLLECTION_DIR/docs/docsite/rst/, and COLLECTION_DIR/docs/docsite/extra-docs.yml lists them, so
antsibull-docs puts them on the collection's index page. Links between guides become page links;
links to other files of the checkout point at the file in the repository named by galaxy.yml.
The checkout itself is not changed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# Markdown file in the checkout -> (page name, title in the index)
GUIDES = {
    "README.md": ("readme", "Overview and quick start"),
    "docs/rollout.md": ("rollout", "Fleet rollout and the model mirror"),
    "docs/modules.md": ("modules", "Decisions behind the modules"),
    "docs/supply-chain.md": ("supply-chain", "Supply chain: version floor, image digests, model registries"),
}
# No heading labels (antsibull-docs wants each page's labels under its own prefix); tables never
# wrapped, since a literal broken across lines of a grid table cell is invalid reStructuredText.
PANDOC = ["pandoc", "--from=gfm-gfm_auto_identifiers", "--to=rst", "--wrap=none", "--columns=10000"]
_LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


def rewrite_links(markdown: str, source: str, repository: str) -> str:
    base = Path(source).parent

    def replace(match):
        target, anchor = match.group(1), match.group(2) or ""
        if "://" in target or target.startswith("mailto:"):
            return match.group(0)
        path = os.path.normpath(base / target)
        if path in GUIDES:
            return "](%s.html%s)" % (GUIDES[path][0], anchor)
        return "](%s/blob/main/%s%s)" % (repository, path, anchor)

    return _LINK.sub(replace, markdown)


def main(dest: str) -> int:
    dest_dir = Path(dest)
    repository = yaml.safe_load((ROOT / "galaxy.yml").read_text(encoding="utf-8"))["repository"].rstrip("/")
    rst_dir = dest_dir / "docs" / "docsite" / "rst"
    rst_dir.mkdir(parents=True, exist_ok=True)
    toctree = []
    for source, (page, title) in GUIDES.items():
        markdown = rewrite_links((ROOT / source).read_text(encoding="utf-8"), source, repository)
        rst = subprocess.run(PANDOC, input=markdown, capture_output=True, text=True, check=True).stdout
        # antsibull-docs wants every extra doc to start with a label of its own.
        label = "ansible_collections.llmops.ollama.docsite.%s" % page
        # Code blocks without a language are shell sessions or output, not the site's default YAML.
        (rst_dir / (page + ".rst")).write_text(".. _%s:\n\n.. highlight:: none\n\n%s" % (label, rst),
                                               encoding="utf-8")
        toctree.append(page)
    extra = {"sections": [{"title": "Guides", "toctree": toctree}]}
    extra_docs = dest_dir / "docs" / "docsite" / "extra-docs.yml"
    extra_docs.write_text("---\n" + yaml.safe_dump(extra, sort_keys=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
