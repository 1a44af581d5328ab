"""Which item of an import each name means, found before anything is written.

Names are unique only within their scope (a region within its cloud, a host within its
region), and fleets reuse them in every region (a switch "tor", a network "mgmt"), so
one name may mean several items of a document. A name that does is told apart by where
the naming item is (its cloud and region, then its cell, where both items have one): a
host's parent "tor" is the switch in the host's region, an interface's network the one
in its device's region. An item with no place of its own (an instance) says where the
item it names is: ``"host": {"name": "cmp-1", "region": "r1"}`` (or ``"cloud"``,
``"cell"``, or a stored place's ``"region_id"``...). A name still meaning more than one
item is refused, saying where each is and how to say which. Names twice in one scope, and
parents that go round in a circle, are refused here too, so the answer does not depend
on how the import is cut into batches.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from itertools import product

from craton.domain.errors import CycleError, InvalidInput, NameTaken
from craton.domain.kinds import KINDS
from craton.import_document import (
    GROUPS,
    NAMED,
    ORDER,
    Entry,
    Key,
    noun,
    places_of,
    read_document,
)

Place = Key | int | None  # an item of the import, a stored resource's id, or not known
Label = tuple[str, object]  # a place as a reference gives it: ("region", "r1"), ("cell_id", 7)
# Where two items must agree to be told apart, widest first: a cell breaks ties in a region.
NEAR = (("cloud_id", "region_id"), ("cell_id",))
HINTS = {"region": "cloud", "cell": "region"}  # what else to name when one is ambiguous
Stage = tuple[str, list[Entry]]  # items of one kind registered together
Among = tuple[tuple[str, ...], str, str]  # the kinds a name may mean, their namespace, the name
# Kinds whose names are resolved together: a device may hang from a host or a network device.
STEPS = (("cloud",), ("region",), ("cell",), ("network",), ("instance-group",),
         ("network-device", "host"), ("network-interface",), ("instance",))


def family(kind: str) -> str:
    """The kinds sharing a namespace: hosts and network devices are all devices."""
    return KINDS[kind].name_family or kind


# (kind, reference field) -> the kinds it may name, and the namespace they share.
TARGETS = {(k.name, name): (f.refers_to, family(f.refers_to[0]))
           for k in KINDS.values() for name, f in k.fields.items() if f.refers_to}


class Names:
    """The document's items, found by key and by name."""

    def __init__(self, document: dict[str, list[Entry]]) -> None:
        self.items = {e.key: e for entries in document.values() for e in entries}
        self.by_name: dict[tuple[str, str], list[Entry]] = {}
        for kind, entries in document.items():
            for e in entries:
                if e.name is not None:
                    self.by_name.setdefault((family(kind), e.name), []).append(e)
        self.fits: dict[Among, list[Entry]] = {}  # the items a name may mean as a reference
        # Those items by some of their places (see ``_grouped``).
        self.by_place: dict[tuple[Among, str, tuple[str, ...]], dict[tuple[object, ...],
                                                                       list[Entry]]] = {}

    def place(self, entry: Entry, field: str) -> Place:
        """What the document says is ``entry``'s ``field`` (``region_id``: its region),
        given or implied by the places it names."""
        if field == f"{entry.kind}_id":
            return entry.key
        given = entry.refs.get(field, entry.fields.get(field))
        if isinstance(given, int | tuple) and not isinstance(given, bool):
            return given  # (true is no id: refused as a wrong type when registered)
        for via in ("cell_id", "region_id", "device_id"):
            ref = entry.refs.get(via)
            if ref is not None and (found := self.place(self.items[ref], field)) is not None:
                return found
        return None

    def where(self, entry: Entry) -> str:
        """``region 'r' of cloud 'c'``: the scope its name is unique in, as a person reads it."""
        scope = KINDS[entry.kind].name_scope
        if scope is None:
            return "the project"
        place = self.place(entry, scope)
        if isinstance(place, tuple):
            return f"{self.items[place]}" + (
                f" of {self.where(self.items[place])}" if KINDS[place[0]].name_scope else "")
        return f"the {scope[:-3]} with id {place}" if place is not None else f"no {scope[:-3]}"

    def resolve(self, entry: Entry, parent: bool = False) -> None:
        """Fill ``entry.refs`` for the names it gives: its parent's alone (``parent``),
        once every device's name is known to be unique, or all the others."""
        pending: dict[str, list[Entry]] = {}
        for key, name in entry.names.items():
            if (key == "parent") is parent:
                found = self._said(entry, key, self.candidates(entry, NAMED[key], name))
                if len(found) == 1:
                    entry.refs[NAMED[key]] = found[0].key
                else:
                    pending[key] = found
        if pending:
            self._tell_apart(entry, pending)

    def _tell_apart(self, entry: Entry, pending: dict[str, list[Entry]]) -> None:
        """Resolve names that mean several items by where the item is. Repeated, as one
        name told may place the item (an interface's device gives its region)."""
        while pending:
            told = False
            for key, found in list(pending.items()):
                found = pending[key] = self._nearest(entry, key, found)
                if len(found) == 1:
                    entry.refs[NAMED[key]] = found[0].key
                    del pending[key]
                    told = True
            if not told:
                key, found = next(iter(pending.items()))
                raise self._ambiguous(entry, key, found)

    def resolve_groups(self, entry: Entry) -> None:
        """An instance's groups: their names are unique in the project (checked before)."""
        entry.group_refs = [self.candidates(entry, GROUPS, g)[0].key for g in entry.groups or []]

    def candidates(self, entry: Entry, field: str, name: str) -> list[Entry]:
        """The items ``name`` may mean as ``entry``'s ``field``; refused when none."""
        kinds, among = TARGETS[entry.kind, field]
        found = self.by_name.get((among, name), [])
        fits = self.fits.get((kinds, among, name))
        if fits is None:
            fits = self.fits[kinds, among, name] = [c for c in found if c.kind in kinds]
        if fits:
            return fits
        if found:
            raise InvalidInput(f"{entry}: {name!r} is a {noun(found[0].kind)}, "
                               f"not a {' or '.join(map(noun, kinds))}")
        wanted = noun(among if len(kinds) > 1 else kinds[0])
        raise InvalidInput(f"{entry}: no {wanted} named {name!r} in the import")

    def _said(self, entry: Entry, key: str, found: list[Entry]) -> list[Entry]:
        """The candidates in the places ``entry``'s reference says (``{"region": "r1"}``);
        refused when none is, since the operator said where to look."""
        said = entry.within.get(key)
        if not said:
            return found
        kinds, among = TARGETS[entry.kind, NAMED[key]]
        fields = tuple(NAMED.get(k, k) for k in said)
        index = self._grouped((kinds, among, entry.names[key]), fields, self._label)
        there = index.get(tuple(said.items()), [])
        if not there:
            where = " of ".join(f"{k[:-3]} with id {v}" if k.endswith("_id") else f"{k} {v!r}"
                                for k, v in sorted(said.items(), key=_innermost))
            raise InvalidInput(f"{entry}: no {noun(found[0].kind)} named {entry.names[key]!r} "
                               f"in {where} in the import")
        return there

    def _nearest(self, entry: Entry, key: str, found: list[Entry]) -> list[Entry]:
        """The candidates where ``entry`` is: in its region, then in its cell; all of them
        when none is (a parent may be elsewhere, if its name says which)."""
        kinds, among = TARGETS[entry.kind, NAMED[key]]
        every = self.fits[kinds, among, entry.names[key]]
        for fields in NEAR:
            mine = {f: p for f in fields if (p := self.place(entry, f)) is not None}
            if not mine:
                continue
            if found is every:
                found = self._in_place((kinds, among, entry.names[key]), mine) or found
            else:  # already fewer: those the reference or a wider place left
                found = [c for c in found if self._agrees(c, mine)] or found
        return found

    def _grouped(self, among: Among, fields: tuple[str, ...],
                 of: Callable[[Entry, str], object]) -> dict[tuple[object, ...], list[Entry]]:
        """The items ``among`` means by their ``fields`` (by place, or as a reference
        gives them), so that a name reused in every region is not searched through every
        region for each of the items naming it."""
        index = self.by_place.get((among, of.__name__, fields))
        if index is None:
            index = self.by_place[among, of.__name__, fields] = {}
            for c in self.fits[among]:
                index.setdefault(tuple(of(c, f) for f in fields), []).append(c)
        return index

    def _in_place(self, among: Among, mine: Mapping[str, Place]) -> list[Entry]:
        """The items ``among`` means that are in no other place than ``mine``, found by
        place: each of ``mine``'s places, or none, in every combination."""
        index = self._grouped(among, tuple(mine), self.place)
        there = [c for each in product(*((p, None) for p in mine.values()))
                 for c in index.get(each, [])]
        return sorted(there, key=lambda c: (ORDER.index(c.kind), c.index))

    def _agrees(self, candidate: Entry, mine: Mapping[str, Place]) -> bool:
        """Whether ``candidate`` is in the places ``mine`` says, as far as it says."""
        return all(self.place(candidate, f) in (None, p) for f, p in mine.items())

    def _label(self, entry: Entry, field: str) -> Label | None:
        """``entry``'s ``field`` as a reference would give it: an item of the import by
        name (``("region", "r1")``), a stored one by id (``("region_id", 7)``)."""
        place = self.place(entry, field)
        if isinstance(place, tuple):
            return field[:-3], self.items[place].name
        return (field, place) if place is not None else None

    def _say_which(self, entry: Entry, key: str, found: list[Entry]) -> str:
        """``"host": {"name": "h", "region": "r1"}``: how ``entry`` would name the first
        candidate, giving only the places that tell it from the others."""
        first, rest = found[0], found[1:]
        said: dict[str, object] = {"name": first.name}
        for _, field in sorted(places_of(entry.kind, NAMED[key]), key=_widest):
            mine = self._label(first, field)
            if rest and mine is not None and any(self._label(c, field) != mine for c in rest):
                said[mine[0]] = mine[1]
                rest = [c for c in rest if self._label(c, field) == mine]
        return f"{json.dumps(key)}: {json.dumps(said)}"

    def _ambiguous(self, entry: Entry, key: str, found: list[Entry]) -> InvalidInput:
        each = [f"one in {self.where(c)}" for c in found[:3]]
        there = f"there is {each[0]} and {each[1]}" if len(found) == 2 else (
            f"there are {len(found)}: " + ", ".join(each) + (", ..." if len(found) > 3 else ""))
        hint = HINTS.get(key)
        tell = (f"; name its {hint} too" if hint and hint not in entry.names
                and entry.fields.get(NAMED[hint]) is None
                and NAMED[hint] in KINDS[entry.kind].fields
                else f"; say which, as {self._say_which(entry, key, found)}")
        return InvalidInput(f"{noun(found[0].kind)} {found[0].name!r} named by {entry} "
                            f"is ambiguous: {there}{tell}")


def _widest(place: tuple[str, str]) -> int:
    """Regions first: most names are reused across regions, fewer across clouds."""
    return ("region", "cloud", "cell").index(place[0])


def _innermost(said: tuple[str, object]) -> int:
    """A cell before its region before its cloud, as a person reads a place."""
    return ("cell", "region", "cloud").index(said[0].removesuffix("_id"))


def resolve_document(document: object) -> list[Stage]:
    """The document's items, each name resolved to one item, in the order they can be
    registered: parents first, a device after the device it hangs from."""
    by_kind = read_document(document)
    names = Names(by_kind)
    stages: list[Stage] = []
    for step in STEPS:
        entries = [e for kind in step for e in by_kind.get(kind, [])]
        for e in entries:
            names.resolve(e)
            names.resolve_groups(e)
        _check_unique(names, entries)
        for e in entries:
            names.resolve(e, parent=True)
        stages += _device_stages(step, entries) if len(step) > 1 else [(step[0], entries)]
    return [(kind, entries) for kind, entries in stages if entries]


def _check_unique(names: Names, entries: list[Entry]) -> None:
    """Refuse a name given twice in one scope, wherever the batches are cut."""
    seen: dict[tuple[str, Place, str], Entry] = {}
    twice: list[str] = []
    for e in entries:
        spec = KINDS[e.kind]
        if e.name is None or (spec.name_scope is None and spec.name_family is None):
            continue
        scope = names.place(e, spec.name_scope) if spec.name_scope else None
        if spec.name_scope and scope is None:
            continue  # no scope at all: refused as a missing field when registered
        first = seen.setdefault((family(e.kind), scope, e.name), e)
        if first is not e:
            what = noun(e.kind if first.kind == e.kind else family(e.kind))
            where = f" in {names.where(e)}" if spec.name_scope else ""
            twice.append(f"{what} {e.name!r}{where}")
    if twice:
        more = f" (and {len(twice) - 1} more)" if len(twice) > 1 else ""
        raise NameTaken(f"the import names more than one {twice[0]}{more}")


def _device_stages(kinds: tuple[str, ...], devices: list[Entry]) -> list[Stage]:
    """Devices in generations, each after the one it hangs from (``ORDER`` within one)."""
    mine = {e.key for e in devices}
    children: dict[Key, list[Entry]] = {}
    generation = []
    for e in devices:
        parent = e.refs.get("parent_id")
        if parent is not None and parent in mine:
            children.setdefault(parent, []).append(e)
        else:
            generation.append(e)
    stages: list[Stage] = []
    placed = 0
    while generation:
        stages += [(kind, [e for e in generation if e.kind == kind]) for kind in kinds]
        placed += len(generation)
        generation = sorted((c for e in generation for c in children.get(e.key, [])),
                            key=lambda e: (kinds.index(e.kind), e.index))
    if placed < len(devices):
        _refuse_circles(devices)
    return stages


def _refuse_circles(devices: list[Entry]) -> None:
    """Name the devices on a circle of parents, walking each device's parents only until
    a device walked before: each is walked once, however many hang below a circle."""
    by_key = {e.key: e for e in devices}
    walked: set[Key] = set()
    on_circle: set[Key] = set()
    for e in devices:
        path: dict[Key, int] = {}  # the devices of this walk, in order
        at: Key | None = e.key
        while at is not None and at in by_key and at not in walked:
            walked.add(at)
            path[at] = len(path)
            at = by_key[at].refs.get("parent_id")
        if at is not None and at in path:  # came back to a device of this walk
            on_circle.update(list(path)[path[at]:])
    circling = [repr(e.name) if e.name is not None else str(e)
                for e in devices if e.key in on_circle]
    raise CycleError(f"devices {', '.join(circling)} would each be their own ancestor",
                     {"parent_id": ["would form a cycle"]})
