"""What each kind of resource holds, refers to, and how its name is scoped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEVICE_KINDS = ("host", "network-device")


@dataclass(frozen=True)
class FieldSpec:
    """One operator-editable field: its type, and what it refers to, if anything."""

    type: type | tuple[type, ...]
    required: bool = False
    refers_to: tuple[str, ...] = ()
    default: Any = None
    choices: tuple[str, ...] = ()
    any_case: bool = False  # a choice may be written in any case (ACTIVE, active)
    minimum: int | None = None  # bounds of a number, or of each number in a list
    maximum: int | None = None
    format: str | None = None  # a text format ``validation.FORMATS`` checks
    max_length: int | None = None  # characters of a text (a name: ``MAX_NAME``)
    doc: str = ""  # what the value means, for the API's documentation


@dataclass(frozen=True)
class Kind:
    """A kind of resource in the inventory."""

    name: str
    plural: str
    fields: dict[str, FieldSpec]
    name_scope: str | None = None  # the field whose value scopes name uniqueness
    name_family: str | None = None  # kinds sharing one namespace (devices)
    variables: bool = True
    labels: bool = False
    facts: bool = False
    project_scoped: bool = True

    @property
    def title(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("-"))

    def unique_key(self, project_id: str | None, fields: dict[str, Any]) -> str | None:
        """The key under which this resource's name must be unique, if any."""
        name = fields.get("name")
        if name is None or (self.name_scope is None and self.name_family is None):
            return None
        family = self.name_family or self.name
        if not self.project_scoped:
            scope: Any = ""
        elif self.name_scope:
            scope = fields.get(self.name_scope)
        else:
            scope = project_id
        return f"{family}|{scope}|{name}"


S, INT, B = str, int, bool
OPT_STR = FieldSpec(S)
NUM = (int, float)
# Nova's bound on a flavor's vcpus, ram and disk (a signed 32-bit integer).
MAX_INT = 2**31 - 1
VLAN_MIN, VLAN_MAX = 1, 4094  # 802.1Q: 0 and 4095 are reserved
IP_ADDRESS = FieldSpec(S, format="ip-address", doc="an IPv4 or IPv6 address")
# Nova's vm_state values and the statuses its API shows (ACTIVE, SHUTOFF, ...), in
# any case: a driver or an import may report either.
INSTANCE_STATES = ("active", "building", "paused", "suspended", "stopped", "rescued",
                   "resized", "soft-delete", "deleted", "error", "shelved",
                   "shelved_offloaded", "build", "hard_reboot", "migrating", "password",
                   "reboot", "rebuild", "rescue", "resize", "revert_resize", "shutoff",
                   "soft_deleted", "unknown", "verify_resize")

_location = {
    "region_id": FieldSpec(INT, required=True, refers_to=("region",)),
    "cloud_id": FieldSpec(INT, refers_to=("cloud",)),
    "cell_id": FieldSpec(INT, refers_to=("cell",)),
}
_device = {
    "name": FieldSpec(S, required=True),
    "ip_address": IP_ADDRESS,
    "device_type": FieldSpec(S, default="server", max_length=64),
    "active": FieldSpec(B, default=True),
    "schedulable": FieldSpec(B, default=True),
    "status": FieldSpec(S, default="in-service"),
    "note": OPT_STR,
    **_location,
    "parent_id": FieldSpec(INT, refers_to=DEVICE_KINDS),
}

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("project", "projects", {"name": FieldSpec(S, required=True)},
             name_family="project", project_scoped=False),
        Kind("user", "users", {
            "name": FieldSpec(S, required=True),
            "role": FieldSpec(S, required=True,
                              choices=("root", "admin", "member", "auditor")),
        }, name_family="user", variables=False),
        Kind("cloud", "clouds", {"name": FieldSpec(S, required=True), "note": OPT_STR},
             name_family="cloud"),
        Kind("region", "regions", {
            "name": FieldSpec(S, required=True), "note": OPT_STR,
            "cloud_id": FieldSpec(INT, required=True, refers_to=("cloud",)),
        }, name_scope="cloud_id"),
        Kind("cell", "cells", {
            "name": FieldSpec(S, required=True), "note": OPT_STR,
            "region_id": FieldSpec(INT, required=True, refers_to=("region",)),
            "cloud_id": FieldSpec(INT, refers_to=("cloud",)),
        }, name_scope="region_id"),
        Kind("host", "hosts", dict(_device), name_scope="region_id",
             name_family="device", labels=True, facts=True),
        Kind("network-device", "network-devices", {
            **_device, "model_name": OPT_STR, "os_version": OPT_STR,
            "vlans": FieldSpec(list, minimum=VLAN_MIN, maximum=VLAN_MAX,
                               doc="VLAN ids, each 1 to 4094"),
        }, name_scope="region_id", name_family="device", labels=True, facts=True),
        Kind("network", "networks", {
            "name": FieldSpec(S, required=True),
            "cidr": FieldSpec(S, format="ip-network",
                              doc="an IPv4 or IPv6 network, e.g. 10.0.0.0/24 (no host bits)"),
            "gateway": FieldSpec(S, format="ip-address",
                                 doc="an IP address inside cidr, when cidr is given"),
            "netmask": FieldSpec(S, format="netmask",
                                 doc="an IPv4 netmask, e.g. 255.255.255.0, "
                                     "agreeing with cidr's prefix"),
            "ip_block_type": OPT_STR, "nss": OPT_STR, **_location,
        }, name_scope="region_id"),
        Kind("network-interface", "network-interfaces", {
            "name": FieldSpec(S, required=True),
            "device_id": FieldSpec(INT, required=True, refers_to=DEVICE_KINDS),
            "network_id": FieldSpec(INT, refers_to=("network",)),
            "interface_type": OPT_STR,
            "vlan_id": FieldSpec(INT, minimum=VLAN_MIN, maximum=VLAN_MAX,
                                 doc="a VLAN id, 1 to 4094"),
            "vlan": OPT_STR,
            "port": FieldSpec(INT, minimum=0, maximum=65535,
                              doc="the port number on the device, 0 to 65535"),
            "duplex": FieldSpec(S, choices=("auto", "full", "half")), "speed": OPT_STR,
            "link": OPT_STR, "cdp": OPT_STR, "security": OPT_STR, "ip_address": IP_ADDRESS,
        }, name_scope="device_id"),
        Kind("instance-group", "instance-groups", {
            "name": FieldSpec(S, required=True),
            "policy": FieldSpec(S, required=True, choices=(
                "affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")),
        }, name_family="instance-group"),
        Kind("instance", "instances", {
            "name": FieldSpec(S, required=True),
            "host_id": FieldSpec(INT, refers_to=("host",)),
            "status": FieldSpec(S, default="active", choices=INSTANCE_STATES,
                                any_case=True),
            "vcpus": FieldSpec(INT, default=1, minimum=1, maximum=MAX_INT),
            "memory_mb": FieldSpec(INT, default=512, minimum=1, maximum=MAX_INT),
            "disk_gb": FieldSpec(INT, default=1, minimum=0, maximum=MAX_INT),
            "flavor": OPT_STR,
            "group_ids": FieldSpec(list, default=None, refers_to=("instance-group",)),
        }),
        # Beyond the inventory: workflow runs, audit findings and consolidation plans
        # are aggregates too, so history, as_of and the audit trail cover them.
        Kind("workflow-run", "workflow-runs", {
            "workflow": FieldSpec(S, required=True),
            "parameters": FieldSpec(dict, default=None),
            "state": FieldSpec(S, default="requested", choices=(
                "requested", "running", "succeeded", "failed", "cancelled")),
            "targets": FieldSpec(list), "handovers": FieldSpec(list),
            "failed_steps": FieldSpec(list), "skipped": FieldSpec(list),
            "worker": OPT_STR, "started_at": OPT_STR, "finished_at": OPT_STR,
            "cancel_requested": FieldSpec(B), "error": OPT_STR, "plan_id": FieldSpec(INT),
        }, variables=False),
        Kind("finding", "findings", {
            "resource_id": FieldSpec(INT, required=True),
            "finding_type": FieldSpec(S, required=True),
            "detail": FieldSpec(dict), "status": FieldSpec(S, default="open",
                                                           choices=("open", "resolved")),
            "run_id": OPT_STR, "resolved_by_run": OPT_STR,
        }, variables=False),
        Kind("plan", "plans", {
            "name": OPT_STR, "planner": FieldSpec(S, required=True), "scope": FieldSpec(dict),
            "objective": FieldSpec(dict), "constraints": FieldSpec(dict),
            "position": FieldSpec(INT), "moves": FieldSpec(list),
            "hosts_freed": FieldSpec(list), "freed_asset_cost": FieldSpec(NUM),
            "objective_value": FieldSpec(NUM), "bound": FieldSpec(NUM),
            "gap": FieldSpec(NUM), "status": OPT_STR, "solve_time_s": FieldSpec(NUM),
            "state": FieldSpec(S, default="computed"), "run_id": OPT_STR,
            "summary": FieldSpec(dict),
        }, variables=False),
    )
}

BY_PLURAL = {k.plural: k for k in KINDS.values()}

# Where resolution of variables goes next, nearest first (after parents).
CHAIN_FIELDS = ("cell_id", "region_id", "cloud_id")

# A child referring to a region or cell through these copies the parent's location: a
# cell's hosts carry its region_id and cloud_id, a region's cells carry its cloud_id.
COPIED_LOCATION = {"region_id": ("cloud_id",), "cell_id": ("region_id", "cloud_id")}

# Reference columns a child uses to point at its parents.
REFERENCE_FIELDS = (
    "cloud_id", "region_id", "cell_id", "parent_id", "device_id", "network_id", "host_id",
)


def kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"unknown resource kind {name!r}") from None


def field_defaults(spec: Kind) -> dict[str, Any]:
    return {n: f.default for n, f in spec.fields.items() if f.default is not None}
