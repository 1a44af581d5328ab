"""Seeded fleets: an import document, and the changes a fleet goes through."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from craton.domain.meta import Meta, system_meta

LABELS = ("gpu", "ssd", "gen9", "gen10", "canary", "nvme", "edge")
KERNELS = ("6.1.0-18", "6.1.0-21", "6.6.8", "6.6.13", "6.8.2")
VARIABLE_KEYS = ("kernel", "firmware", "patch_window", "owner", "rack_unit", "bmc_version")
START = datetime(2025, 1, 1, tzinfo=UTC)


class Ticker:
    """A clock that moves a fixed step with every event, from a fixed start."""

    def __init__(self, step: timedelta, start: datetime = START):
        self.at, self.step = start, step

    def __call__(self) -> datetime:
        self.at += self.step
        return self.at


def import_meta(project_uuid: str) -> Meta:
    return Meta(actor_id=None, actor_name="bench", source="import", project_id=project_uuid,
                reason="benchmark fleet")


def change_meta(project_uuid: str, rng: random.Random) -> Meta:
    return Meta(actor_id=None, actor_name=rng.choice(("alice", "bob", "carol")),
                source="api", project_id=project_uuid, reason="CHG-1042 rollout")


def project_meta() -> Meta:
    return system_meta("benchmark")


def cell_count(hosts: int) -> int:
    return max(1, hosts // 400)


def host_name(i: int) -> str:
    return f"cmp-{i:06d}"


def host_item(i: int, cells: int, rng: random.Random) -> dict[str, Any]:
    cell = i % cells
    return {
        "name": host_name(i), "cloud": "cloud-1", "region": f"region-{cell % 4 + 1}",
        "cell": f"cell-{cell + 1:03d}", "ip_address": f"10.{i // 65536}.{i // 256 % 256}."
        f"{i % 256}", "device_type": "server",
        "variables": {"role": "compute", "kernel": rng.choice(KERNELS), "rack_unit": i % 42},
        "labels": sorted(rng.sample(LABELS, 2)),
        "facts": {"vcpus": rng.choice((48, 64, 96)),
                  "memory_total_mb": rng.choice((262144, 393216)), "disk_gb": 1920,
                  "cpu_model": rng.choice(("EPYC 7543", "Xeon 6338"))},
    }


def instance_item(j: int, hosts: int, rng: random.Random) -> dict[str, Any]:
    return {"name": f"vm-{j:07d}", "host": host_name(rng.randrange(hosts)),
            "vcpus": rng.choice((1, 2, 4, 8)), "memory_mb": rng.choice((2048, 4096, 8192)),
            "disk_gb": rng.choice((20, 40, 80)), "flavor": "m1"}


def skeleton(hosts: int) -> dict[str, list[dict[str, Any]]]:
    """The cloud, regions and cells the hosts sit in, each with variables to inherit."""
    cells = cell_count(hosts)
    return {
        "clouds": [{"name": "cloud-1", "variables": {
            "cpu_allocation_ratio": 4.0, "ntp_server": "ntp.example", "asset_cost": 100}}],
        "regions": [{"name": f"region-{r + 1}", "cloud": "cloud-1",
                     "variables": {"dns_server": f"10.{r}.0.2", "zone": f"z{r + 1}"}}
                    for r in range(4)],
        "cells": [{"name": f"cell-{c + 1:03d}", "cloud": "cloud-1",
                   "region": f"region-{c % 4 + 1}", "variables": {"rack_row": c % 12}}
                  for c in range(cells)],
    }


def document(hosts: int, instances: int, seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    """A whole fleet to import: cloud, regions, cells, hosts and instances."""
    rng = random.Random(seed)
    cells = cell_count(hosts)
    doc = skeleton(hosts)
    doc["hosts"] = [host_item(i, cells, rng) for i in range(hosts)]
    doc["instances"] = [instance_item(j, hosts, rng) for j in range(instances)]
    return doc


def variable_change(rng: random.Random, key: str | None = None) -> dict[str, Any]:
    """A new value for one variable key (a random key unless named)."""
    key = key or rng.choice(VARIABLE_KEYS)
    value: Any = rng.choice(KERNELS) if key == "kernel" else rng.randrange(1000)
    return {key: value}
