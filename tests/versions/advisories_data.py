"""Reads meta/advisories.yml for the tools beside the collection (make versions, the supply-chain table), through
the same module_utils the roles' filter uses, so that "affected" means one thing everywhere."""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# build/collections/ansible_collections/llmops/ollama links to the checkout (tests/collection_path.sh).
sys.path.insert(0, os.path.join(ROOT, "build", "collections"))

from ansible_collections.llmops.ollama.plugins.module_utils import _advisories  # noqa: E402
from ansible_collections.llmops.ollama.plugins.module_utils._image_ref import version_key  # noqa: E402

DATA = os.path.join(ROOT, "meta", "advisories.yml")


def load():
    return _advisories.load(DATA)


def below(tag, floor):
    """Whether the tag is below the floor (an empty floor: never)."""
    if not floor:
        return False
    tag_key, floor_key = version_key(str(tag)), version_key(str(floor))
    return tag_key is None or floor_key is None or tag_key < floor_key
