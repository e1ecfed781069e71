"""The marker the Podman scenario deselects by (molecule/podman/molecule.yml, verifier options)."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "engine_independent: what the test checks does not go through the container engine in any way the other "
        "tests do not already cover (the certificate's names; a database image swap, a recreation like LobeHub's): "
        "the Docker scenario runs it, the Podman scenario leaves it out to keep make test short")
