"""Sizes of one run: the default sizes and the ``--quick`` ones (ten times smaller)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench-cache"
DOCS = ROOT / "docs"


@dataclass(frozen=True)
class Sizes:
    """How big each figure's data is."""

    hosts: int = 20_000            # fig 3, 6: hosts in the imported fleet
    instances: int = 200_000       # fig 3: instances in the imported fleet
    log_events: int = 1_000_000    # fig 4, 6, 7, 8: events in the large log
    growth: tuple[int, ...] = (100_000, 300_000, 1_000_000)  # the growth plots
    log_hosts: int = 20_000        # hosts in the large log
    log_instances: int = 40_000    # instances in the large log
    runner_events: int = 5_000     # ProjectionRunner baseline: events processed
    latency_samples: int = 300     # fig 1, 7: requests per latency sample
    concurrent_seconds: float = 8.0    # fig 2: how long 8 clients run
    listing_seconds: float = 5.0       # fig 5: how long each listing runs
    asof_repeats: int = 3          # fig 6: repeats of the whole-fleet queries
    planner_hosts: tuple[int, ...] = (100, 1_000, 5_000)
    planner_time_limit: float = 60.0
    import_batch: int = 1000

    def quick(self) -> Sizes:
        return replace(
            self, hosts=2_000, instances=20_000, log_events=100_000,
            growth=(10_000, 30_000, 100_000), log_hosts=2_000, log_instances=4_000,
            runner_events=1_000, latency_samples=100, concurrent_seconds=5.0,
            listing_seconds=3.0, asof_repeats=2, planner_hosts=(100, 1_000),
            planner_time_limit=30.0)


def sizes(quick: bool) -> Sizes:
    return Sizes().quick() if quick else Sizes()
