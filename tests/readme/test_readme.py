"""The README's figures are the ones the scripts wrote, with the commit they measured."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import render  # noqa: E402

README = os.path.join(render.ROOT, "README.md")


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def test_readme_has_every_generated_block():
    names = re.findall(r"<!-- generated:([a-z_]+) -->", read(README))
    assert sorted(names) == sorted(render.RENDERERS)


def test_readme_matches_the_figure_files():
    text = read(README)
    new, problems = render.render(text)
    assert problems == []
    assert new == text, "README.md differs from docs/figures: run `make readme`"


@pytest.mark.parametrize("name", sorted({s for sources in render.SOURCES.values() for s in sources}))
def test_every_figure_file_names_its_commit_and_date(name):
    record = render.load(name, os.path.join(render.ROOT, "docs", "figures"))
    assert re.fullmatch(r"[0-9a-f]{40}", record["measured"]["commit"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", record["measured"]["date"])
    assert record["measured"]["commit"][:10] in render.render(read(README))[0]


def test_a_hand_edited_readme_figure_is_caught():
    text = read(README)
    noop = render.load("converge", os.path.join(render.ROOT, "docs", "figures"))["noop_median_s"]
    edited = text.replace("/ %s s" % noop, "/ 1%s s" % noop, 1)
    assert edited != text
    assert render.render(edited)[0] != edited


def test_a_results_file_that_disagrees_with_its_figures_is_caught(tmp_path):
    for rel in ["docs/figures"]:
        shutil.copytree(os.path.join(render.ROOT, rel), tmp_path / rel)
    for rel in render.RESULTS.values():
        os.makedirs(tmp_path / os.path.dirname(rel), exist_ok=True)
        shutil.copy(os.path.join(render.ROOT, rel), tmp_path / rel)
    ratio = json.loads(read(tmp_path / "docs/figures/converge.json"))["ratio"]
    results = tmp_path / render.RESULTS["converge"]
    results.write_text(read(results).replace("| %s |" % ratio, "| 0.99 |"))
    _new, problems = render.render(read(README), root=str(tmp_path))
    assert any("converge" in p and ratio in p for p in problems), problems
