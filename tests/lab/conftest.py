"""Fixtures for the lab's own checks (run after `lab/bin/lab up`)."""
import pytest

from lab_helpers import REGISTRY, get_json, registry_up


@pytest.fixture(scope="session")
def lab_up():
    """Skip (with the command to run) when the lab is not up."""
    if not registry_up():
        pytest.skip("the lab is not up: run lab/bin/lab up first")
    return REGISTRY


@pytest.fixture(scope="session")
def catalog(lab_up):
    repos = get_json(REGISTRY + "/v2/_catalog?n=1000")["repositories"]
    return {r: get_json(f"{REGISTRY}/v2/{r}/tags/list").get("tags") or [] for r in repos}
