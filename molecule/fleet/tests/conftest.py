"""The order of the fleet scenario's verify tests.

test_report.py needs the rolled-out fleet (and puts back what it changes); test_fleet.py's last
test leaves the fleet broken on purpose, so it runs after every other test of the scenario. The
rest keep their file order.
"""

BREAKS_THE_FLEET = "test_failed_health_gate_stops_the_rollout_and_later_hosts_stay_untouched"


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.name == BREAKS_THE_FLEET)
