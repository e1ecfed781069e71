"""The markers the scenarios deselect by (molecule/default and molecule/podman molecule.yml, verifier options)."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "engine_independent: what the test checks does not go through the container engine in any way the other "
        "tests do not already cover (the certificate's names; a database image swap, a recreation like LobeHub's): "
        "the Docker scenario runs it, the Podman scenario leaves it out to keep make test short")
    config.addinivalue_line(
        "markers",
        "faults_cover_on_docker: the fault suite measures the same on its Docker host (tests/faults: the host restarted "
        "in test_5_recovery, the image tag changed both ways in test_4_upgrade_rollback): the Docker scenario leaves it "
        "out, the Podman scenario runs it")
