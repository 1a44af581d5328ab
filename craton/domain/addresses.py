"""Addresses, networks and netmasks as the fleet writes them, checked with ``ipaddress``.

Each check returns what is wrong, for a person, or None: the caller gathers
every problem of a command before refusing it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def ip_address_problem(value: str) -> str | None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return f"{value!r} is not an IPv4 or IPv6 address"
    return None


def ip_network_problem(value: str) -> str | None:
    """A network is written with its prefix and no host bits (10.0.0.0/24, not
    10.0.0.1/24): anything else is a typo as often as not."""
    if "/" not in value:
        return f"{value!r} is not a network: write it as address/prefix, e.g. 10.0.0.0/24"
    try:
        ipaddress.ip_network(value)
    except ValueError as exc:
        return f"{value!r} is not an IPv4 or IPv6 network ({exc})"
    return None


def netmask_problem(value: str) -> str | None:
    """A dotted IPv4 netmask: contiguous ones, then zeros (255.255.255.0)."""
    try:
        prefix = ipaddress.IPv4Network(f"0.0.0.0/{value}").prefixlen
    except ValueError:
        prefix = None
    if prefix is None or str(ipaddress.IPv4Network(f"0.0.0.0/{prefix}").netmask) != value:
        return f"{value!r} is not an IPv4 netmask such as 255.255.255.0"
    return None


FORMATS: dict[str, Callable[[str], str | None]] = {
    "ip-address": ip_address_problem,
    "ip-network": ip_network_problem,
    "netmask": netmask_problem,
}


def network_problems(fields: dict[str, Any]) -> dict[str, list[str]]:
    """A network's gateway lies in its cidr and its netmask agrees with the cidr's
    prefix; fields that are absent, or wrong on their own, are not compared."""
    cidr = _parsed(fields.get("cidr"), ip_network_problem, ipaddress.ip_network)
    if cidr is None:
        return {}
    errors: dict[str, list[str]] = {}
    gateway = _parsed(fields.get("gateway"), ip_address_problem, ipaddress.ip_address)
    if gateway is not None and gateway not in cidr:
        errors["gateway"] = [f"{gateway} is not in the network {cidr}"]
    netmask = _parsed(fields.get("netmask"), netmask_problem, str)
    if netmask is not None and not _mask_agrees(cidr, netmask):
        errors["netmask"] = [f"{netmask} does not agree with the network {cidr}"]
    return errors


def _mask_agrees(cidr: Network, netmask: str) -> bool:
    return cidr.version == 4 and str(cidr.netmask) == netmask


def _parsed(value: Any, problem: Callable[[str], str | None],
            parse: Callable[[str], Any]) -> Any:
    """The value parsed, or None when absent or not valid on its own."""
    if not isinstance(value, str) or problem(value) is not None:
        return None
    return parse(value)
