"""The order of the fleet scenario's verify tests.

test_report.py needs the rolled-out fleet (and puts back what it changes); test_fleet.py's mirror
swap leaves a host without its model and its last test leaves the fleet broken on purpose, so they
run after every other test of the scenario, in that order. The rest keep their file order.
"""

BREAKS_THE_FLEET = "test_failed_health_gate_stops_the_rollout_and_later_hosts_stay_untouched"
# Leaves llmops-fleet-2 without its model (and empties the mirror first): after test_report.py too.
SWAPS_THE_MIRROR = "test_a_model_swapped_on_the_mirror_after_the_first_host_filled_it_is_refused_by_the_next"


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: (item.name == BREAKS_THE_FLEET, item.name == SWAPS_THE_MIRROR))
