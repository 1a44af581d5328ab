"""Which item of an import each name means, found before anything is written.

Names are unique only within their scope (a region within its cloud, a host within its
region), so one name may mean several items of a document. A region or cell named
alone is told apart by the other places the item names (its cloud, region, cell), which
must agree with it anyway; any other name must mean exactly one item. Names twice in
one scope, and parents that go round in a circle, are refused here too, so the answer
does not depend on how the import is cut into batches.
"""

from __future__ import annotations

from craton.domain.errors import CycleError, InvalidInput, NameTaken
from craton.domain.kinds import KINDS
from craton.import_document import GROUPS, NAMED, Entry, Key, noun, read_document

Place = Key | int | None  # an item of the import, a stored resource's id, or not known
PLACES = ("cloud", "region", "cell")  # names told apart by the item's other places
HINTS = {"region": "cloud", "cell": "region"}  # what else to name when one is ambiguous
Stage = tuple[str, list[Entry]]  # items of one kind registered together
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

    def place(self, entry: Entry, field: str) -> Place:
        """What the document says is ``entry``'s ``field`` (``region_id``: its region),
        given or implied by the places it names."""
        if field == f"{entry.kind}_id":
            return entry.key
        given = entry.refs.get(field, entry.fields.get(field))
        if isinstance(given, int | tuple):
            return given
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
                found = self.candidates(entry, NAMED[key], name)
                if len(found) == 1:
                    entry.refs[NAMED[key]] = found[0].key
                else:
                    pending[key] = found
        if pending:
            self._tell_apart(entry, pending)

    def _tell_apart(self, entry: Entry, pending: dict[str, list[Entry]]) -> None:
        """Resolve names that mean several items by the places the item names."""
        while pending:
            told = False
            for key, found in list(pending.items()):
                if key in PLACES:
                    found = pending[key] = [c for c in found if self._agrees(entry, c)] or found
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
        if len(found) == 1 and found[0].kind in kinds:
            return found
        fits = [c for c in found if c.kind in kinds]
        if fits:
            return fits
        if found:
            raise InvalidInput(f"{entry}: {name!r} is a {noun(found[0].kind)}, "
                               f"not a {' or '.join(map(noun, kinds))}")
        wanted = noun(among if len(kinds) > 1 else kinds[0])
        raise InvalidInput(f"{entry}: no {wanted} named {name!r} in the import")

    def _agrees(self, entry: Entry, candidate: Entry) -> bool:
        """Whether ``candidate`` is in the places ``entry`` names, as far as both say."""
        for field in ("cloud_id", "region_id", "cell_id"):
            mine, theirs = self.place(entry, field), self.place(candidate, field)
            if mine is not None and theirs is not None and mine != theirs:
                return False
        return True

    def _ambiguous(self, entry: Entry, key: str, found: list[Entry]) -> InvalidInput:
        each = [f"one in {self.where(c)}" for c in found[:3]]
        there = f"there is {each[0]} and {each[1]}" if len(found) == 2 else (
            f"there are {len(found)}: " + ", ".join(each) + (", ..." if len(found) > 3 else ""))
        hint = HINTS.get(key)
        tell = (f"; name its {hint} too" if hint and hint not in entry.names
                and entry.fields.get(NAMED[hint]) is None
                and NAMED[hint] in KINDS[entry.kind].fields else "")
        return InvalidInput(f"{noun(found[0].kind)} {found[0].name!r} named by {entry} "
                            f"is ambiguous: {there}{tell}")


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
        _refuse_circles(devices, {e.key: e for e in devices})
    return stages


def _refuse_circles(devices: list[Entry], by_key: dict[Key, Entry]) -> None:
    circling = []
    for e in devices:
        at, steps = e.refs.get("parent_id"), 0
        while at in by_key and at != e.key and steps < len(devices):
            at, steps = by_key[at].refs.get("parent_id"), steps + 1
        if at == e.key:
            circling.append(repr(e.name) if e.name is not None else str(e))
    raise CycleError(f"devices {', '.join(circling)} would each be their own ancestor",
                     {"parent_id": ["would form a cycle"]})
