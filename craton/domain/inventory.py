"""The kinds of resource in a fleet's inventory, one aggregate class each."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import event

from craton.domain.resource import Event, Resource


class Project(Resource):
    KIND = "project"


class User(Resource):
    """A person or service account, with one role and salted token hashes."""

    KIND = "user"

    class TokenIssued(Event):
        meta: dict[str, Any]
        token_hash: str

    @event(TokenIssued)
    def issue_token(self, meta: dict[str, Any], token_hash: str) -> None:
        self.token_hash = token_hash


class Cloud(Resource):
    KIND = "cloud"


class Region(Resource):
    KIND = "region"


class Cell(Resource):
    KIND = "cell"


class Host(Resource):
    KIND = "host"


class NetworkDevice(Resource):
    KIND = "network-device"


class Network(Resource):
    KIND = "network"


class NetworkInterface(Resource):
    KIND = "network-interface"


class InstanceGroup(Resource):
    KIND = "instance-group"


class Instance(Resource):
    """A virtual machine; placing it on a host is its own event."""

    KIND = "instance"

    class Placed(Event):
        meta: dict[str, Any]
        host_id: int | None
        from_host_id: int | None

    def place(self, meta: dict[str, Any], host_id: int | None) -> None:
        self._check_live()
        current = self.fields.get("host_id")
        if current != host_id:
            self._place(meta, host_id, current)

    @event(Placed)
    def _place(
        self, meta: dict[str, Any], host_id: int | None, from_host_id: int | None
    ) -> None:
        self.fields["host_id"] = host_id


AGGREGATES: dict[str, type[Resource]] = {
    cls.KIND: cls
    for cls in (
        Project, User, Cloud, Region, Cell, Host, NetworkDevice, Network,
        NetworkInterface, InstanceGroup, Instance,
    )
}
