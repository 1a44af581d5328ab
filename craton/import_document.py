"""The shape of an import document, checked whole before anything is written.

An operator's file may hold anything JSON can say: every shape the import cannot use
is refused here, in one line naming the item, rather than as a Python error from deep
inside a batch.

An item names another by its name (``"parent": "tor"``), or, where that name is used in
several places, by its name and where it is: ``"host": {"name": "cmp-1", "region": "r1"}``.
The object may give the item's ``cloud``, ``region`` and ``cell`` by name (items of the
import) or by id (``region_id``: one already stored), as the item itself does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from craton.domain.errors import InvalidInput
from craton.domain.kinds import KINDS

# The order in which kinds can be imported: parents before children.
ORDER = ("cloud", "region", "cell", "network", "instance-group", "network-device", "host",
         "network-interface", "instance")
# Keys by which an item names another item of the import -> the field the name fills.
NAMED = {"cloud": "cloud_id", "region": "region_id", "cell": "cell_id", "host": "host_id",
         "parent": "parent_id", "device": "device_id", "network": "network_id"}
PLACES = ("cloud", "region", "cell")  # where an item is: what a reference may say of it
GROUPS = "group_ids"  # filled from an instance's "groups", a list of names
EXTRAS: dict[str, type] = {"variables": dict, "labels": list, "facts": dict}  # beside fields
SPECIAL = frozenset((*NAMED, "groups", *EXTRAS))  # every key of an item that is not a field

Key = tuple[str, int]  # an item of the document: its kind and its place in its list


@dataclass(slots=True)
class Entry:
    """One item of the document: its own fields, and the names it gives for others."""

    kind: str
    index: int
    fields: dict[str, Any] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # "region" -> that region's name
    within: dict[str, dict[str, Any]] = field(default_factory=dict)  # "host" -> {"region": "r1"}
    groups: list[str] | None = None
    variables: dict[str, Any] | None = None
    labels: list[Any] | None = None
    facts: dict[str, Any] | None = None
    refs: dict[str, Key] = field(default_factory=dict)  # "region_id" -> the item it names
    group_refs: list[Key] = field(default_factory=list)

    @property
    def key(self) -> Key:
        return (self.kind, self.index)

    @property
    def name(self) -> str | None:
        name = self.fields.get("name")
        return name if isinstance(name, str) else None

    def __str__(self) -> str:
        """How a message names the item: ``host 'h1'``, or ``hosts item 3`` unnamed."""
        if self.name is None:
            return f"{KINDS[self.kind].plural} item {self.index + 1}"
        return f"{noun(self.kind)} {self.name!r}"

    def item(self, ids: dict[str, Any]) -> dict[str, Any]:
        """What ``register_many`` takes: the fields, with ``ids`` for the names given."""
        return {"fields": {**self.fields, **ids}, "variables": self.variables,
                "labels": self.labels, "facts": self.facts}


def noun(kind: str) -> str:
    return kind.replace("-", " ")


def read_document(document: object) -> dict[str, list[Entry]]:
    """The document's items by kind, in ``ORDER``; refuses any shape the import cannot use."""
    if not isinstance(document, dict):
        raise InvalidInput("the import document must be a JSON object")
    plurals = {KINDS[kind].plural: kind for kind in ORDER}
    unknown = sorted(str(p) for p in document if p not in plurals)
    if unknown:
        raise InvalidInput(f"cannot import {', '.join(unknown)}: an import holds "
                           f"{', '.join(plurals)}")
    out: dict[str, list[Entry]] = {}
    for plural, kind in plurals.items():
        if plural not in document:
            continue
        items = document[plural]
        if not isinstance(items, list):
            raise InvalidInput(f"{plural!r} must be a list of objects")
        for n, item in enumerate(items):
            if not isinstance(item, dict):
                raise InvalidInput(f"{plural!r} must be a list of objects: item {n + 1} is not")
        out[kind] = [read_item(kind, n, item) for n, item in enumerate(items)]
    return out


def read_item(kind: str, index: int, item: dict[str, Any]) -> Entry:
    """One item: its fields apart from the names it gives, each of the right shape."""
    entry = Entry(kind, index, fields={k: v for k, v in item.items() if k not in SPECIAL})
    if item.get("name") is not None and entry.name is None:
        raise InvalidInput(f"{entry}: 'name' must be a string")
    for key, value in item.items():
        if key not in SPECIAL or value is None:
            continue
        if key in EXTRAS and not isinstance(value, EXTRAS[key]):
            what = "a list" if key == "labels" else "an object"
            raise InvalidInput(f"{entry}: {key!r} must be {what}")
        if key not in EXTRAS:
            _read_reference(entry, key, value)
    entry.variables, entry.labels, entry.facts = (
        item.get("variables"), item.get("labels"), item.get("facts"))
    return entry


def _read_reference(entry: Entry, key: str, value: Any) -> None:
    """A name (or, for ``groups``, a list of names) the item gives for another item."""
    target = NAMED.get(key, GROUPS)
    if target not in KINDS[entry.kind].fields:
        raise InvalidInput(f"invalid {entry.kind}: {key}: unknown field",
                           {key: ["unknown field"]})
    if entry.fields.get(target) is not None:
        raise InvalidInput(f"{entry}: give {key!r} or {target!r}, not both")
    if key == "groups":
        if not isinstance(value, list) or not all(isinstance(g, str) for g in value):
            raise InvalidInput(f"{entry}: groups must be a list of names")
        entry.groups = value
    elif isinstance(value, str):
        entry.names[key] = value
    elif isinstance(value, dict) and places_of(entry.kind, target):
        entry.names[key], entry.within[key] = _read_qualified(entry, key, target, value)
    else:
        where = [p for p, _ in places_of(entry.kind, target)]
        place = "region" if "region" in where else where[0] if where else ""
        such = f' or an object such as {{"name": "...", "{place}": "..."}}' if where else ""
        raise InvalidInput(f"{entry}: {key!r} must be a name (a string){such}")


def places_of(kind: str, target: str) -> list[tuple[str, str]]:
    """Where the item a ``kind``'s ``target`` field names may be said to be: each place
    by name and by id (``("region", "region_id")``), as the named kind records it."""
    named = KINDS[KINDS[kind].fields[target].refers_to[0]]
    return [(p, NAMED[p]) for p in PLACES if NAMED[p] in named.fields]


def _read_qualified(entry: Entry, key: str, target: str, value: dict[str, Any]
                    ) -> tuple[str, dict[str, Any]]:
    """``{"name": "cmp-1", "region": "r1"}``: the name, and where the item it means is."""
    places = places_of(entry.kind, target)
    allowed = ["name", *(p for p, _ in places), *(i for _, i in places)]
    unknown = [k for k in value if k not in allowed]
    if unknown:
        raise InvalidInput(f"{entry}: {key!r} may give {', '.join(allowed)}: "
                           f"not {', '.join(map(repr, unknown))}")
    if not isinstance(value.get("name"), str):
        raise InvalidInput(f'{entry}: {key!r} needs a "name" (a string)')
    for place, ident in places:
        if value.get(place) is not None and not isinstance(value[place], str):
            raise InvalidInput(f"{entry}: {key!r}: {place!r} must be a name (a string)")
        given = value.get(ident)
        if given is not None and (not isinstance(given, int) or isinstance(given, bool)):
            raise InvalidInput(f"{entry}: {key!r}: {ident!r} must be an id (a whole number)")
    return value["name"], {k: v for k, v in value.items() if k != "name" and v is not None}
