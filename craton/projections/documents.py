"""A resource row's own labels and variables, kept on the row as JSON text.

A listing shows each resource's labels, and with ``details=true`` its
variables. Read from the key/value tables, that is two aggregates per row:
each an index probe, the labels sorted and both spelt as JSON, a hundred
times a page; on PostgreSQL they were most of a page's time in the server.
The current row of each resource therefore also holds both as JSON text
(``labels_json``: an array in code-point order; ``variables_json``: an
object, keys in code-point order; None for none), and a listing of the
current state reads them as columns. Reads of a past moment still read the
key/value tables, which hold every version.

A row's documents are what its resource held while the row was current:
set when a change of labels or variables touches the row, and copied into
the row's successor when its fields change. They are spelt lazily: a change
marks the resource, and the row takes its documents when it is written or
closed, from the batch's current rows, once however many changes came
between (a replay sees a million changes and writes sixty thousand rows).
"""

from __future__ import annotations

from typing import Any

from craton import codec

Row = dict[str, Any]
LABELS, VARIABLES = "labels_json", "variables_json"


def labels_json(current: dict[Any, Row] | None) -> str | None:
    """The labels of ``current`` (label -> row) as a JSON array in code-point order."""
    if not current:
        return None
    return codec.dumps(sorted(current))


def variables_json(current: dict[Any, Row] | None) -> str | None:
    """The variables of ``current`` (key -> row holding the value's JSON text) as
    the text of one JSON object, keys in code-point order."""
    if not current:
        return None
    dumps = codec.dumps
    return "{" + ",".join(f"{dumps(key)}:{current[key]['value']}"
                          for key in sorted(current)) + "}"


class Documents:
    """Which resources' documents changes have made stale, and bringing a row's up
    to date from the current key/value rows held beside it."""

    def __init__(self, labels: Any, variables: Any):
        self.labels, self.variables = labels, variables  # (``KeyedRows``)
        self.stale_labels: set[int] = set()
        self.stale_variables: set[int] = set()

    def labels_changed(self, resource_id: int) -> None:
        self.stale_labels.add(resource_id)

    def variables_changed(self, resource_id: int) -> None:
        self.stale_variables.add(resource_id)

    def settle(self, row: Row) -> None:
        """Spell ``row``'s stale documents, its resource's as they stand now."""
        rid = row["id"]
        if rid in self.stale_labels:
            self.stale_labels.discard(rid)
            row[LABELS] = labels_json(self.labels.current.get(rid))
        if rid in self.stale_variables:
            self.stale_variables.discard(rid)
            row[VARIABLES] = variables_json(self.variables.current.get(rid))
