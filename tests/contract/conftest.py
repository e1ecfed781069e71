"""Fixtures: a real registry holding the synthetic models, and the Ollama double in front of it.

Everything runs natively (no Docker): Debian's docker-registry on a free loopback port with a
temporary storage directory (or LAB_REGISTRY_URL), and `lab/doubles/ollama/ollama serve`.
"""

import os
import sys

import ollama
import pytest

from lab_processes import REPO, BlobRedirector, Double, Registry

sys.path.insert(0, str(REPO / "lab" / "models"))

import build  # noqa: E402
import catalog  # noqa: E402
import oci  # noqa: E402
import publish  # noqa: E402


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    external = os.environ.get("LAB_REGISTRY_URL")
    if external:
        yield Registry(external.rstrip("/"))
        return
    handle = Registry.start(tmp_path_factory.mktemp("registry"))
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def published(registry):
    """The small lab models, published; maps name -> build.Model."""
    client = oci.Registry(registry.url)
    models = {name: build.build(name, catalog.MODELS[name]) for name in catalog.SMALL_MODELS}
    for model in models.values():
        publish.publish(client, model)
    return models


@pytest.fixture
def publish_model(registry):
    """Publishes a made-up model (its own blobs) so a test may damage it; returns build.Model."""
    client = oci.Registry(registry.url)

    def make(name, body_bytes=0, base="qwen2.5:0.5b"):
        spec = dict(catalog.MODELS[base], body_bytes=body_bytes, display=f"Lab {name}")
        model = build.build(name, spec)
        publish.publish(client, model)
        return model

    return make


@pytest.fixture(scope="session")
def upstream(registry):
    """registry.ollama.ai's stand-in: blob GETs redirected to another host, as the lab's nginx."""
    front = BlobRedirector(registry.url)
    yield front
    front.stop()


@pytest.fixture
def start_double(tmp_path_factory, upstream):
    """Starts a double; its OLLAMA_DOUBLE_UPSTREAM is the redirecting front unless env names one."""
    started = []

    def start(**env):
        double = Double(tmp_path_factory.mktemp("double"), upstream.url, env)
        started.append(double)
        return double

    yield start
    for double in started:
        double.stop()


@pytest.fixture
def double(start_double, published):
    """A fresh double with an empty models directory, the lab registry as its upstream."""
    return start_double()


@pytest.fixture
def client(double):
    return ollama.Client(host=double.url)


@pytest.fixture
def pulled(client):
    """The double with qwen2.5:0.5b already pulled."""
    client.pull("qwen2.5:0.5b")
    return client
