"""Must-show 1 end to end: `lab up` on a fresh machine (no engine, no images), then again, then
`lab down`, inside an engine-less Debian 12 container. Slow (minutes): opt-in."""
import os
import re
import subprocess

import pytest

from lab_helpers import ROOT


@pytest.mark.ci_may_skip("opt-in: the README claims no figure from it")
@pytest.mark.skipif(os.environ.get("LAB_TEST_FRESH") != "1",
                    reason="slow (builds the whole lab from nothing): set LAB_TEST_FRESH=1")
def test_lab_up_from_nothing_then_cached_then_down(lab_up):
    proc = subprocess.run([str(ROOT / "tests" / "lab" / "fresh-machine")], capture_output=True,
                          text=True, timeout=1500)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    first, rest = out.split("=== second lab up", 1)
    second, rest = rest.split("=== lab status", 1)
    status, down = rest.split("=== lab down", 1)
    assert "installing Debian's docker.io" in first and "starting dockerd" in first
    assert "debootstrap bookworm" in first and "debootstrap trixie" in first
    assert re.search(r"lab: up in [0-9.]+ s", first)
    assert "debootstrap" not in second and ": built" not in second
    took = float(re.search(r"lab: up in ([0-9.]+) s", second).group(1))
    assert took < 30, second
    assert "ollama/ollama:" in status and "lobehub/lobe-chat:" in status
    assert down.split()[-2:] == ["0", "0"], down  # no container, no lab network left
