"""Writes a replay's finished rows on a thread of its own, one transaction per hand-over.

The database driver waits on the server without holding the interpreter, so
while one batch of rows is being copied in, the next batch of events is being
decoded and projected: the server and the projector work at the same time.
A failure on the writing side is raised on the projecting side at the next
hand-over, or at the end.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import queue
import threading
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, Table

from craton.projections.held import Row, prepared

Work = list[tuple[Table, list[Row]]]
_DONE = object()


class Appender:
    """Appends rows through one connection; ``threaded=False`` writes in the caller."""

    def __init__(self, engine: Engine, *, threaded: bool = True, depth: int = 2):
        self.engine = engine
        self.threaded = threaded
        self.failure: BaseException | None = None
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._run, name="replay-appender",
                                        daemon=True)

    def __enter__(self) -> Appender:
        if self.threaded:
            self._thread.start()
        return self

    def put(self, work: Work) -> None:
        if not work:
            return
        self._raise_failure()
        if not self.threaded:
            self._write(work)
            return
        self._queue.put(work)

    def _write(self, work: Work) -> None:
        # The values first, then the transaction: on SQLite a write holds the database's
        # one write lock from BEGIN, and the other replay process's writer waits for it.
        inserts = prepared(work, self.engine.dialect.name)
        del work[:]  # the rows go now; their values and COPY text after the write
        with self.engine.begin() as conn:
            for insert in inserts:
                insert.run(conn)
        del inserts[:]
        _release_free_memory()

    def _run(self) -> None:
        while True:
            work = self._queue.get()
            if work is _DONE:
                return
            if self.failure is None:
                try:
                    self._write(work)
                except BaseException as exc:  # handed to the projecting side
                    self.failure = exc

    def _raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.threaded:
            self._queue.put(_DONE)
            self._thread.join()
        if kind is None:
            self._raise_failure()


def _load_trim() -> Any:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to hand back
        return None


_MALLOC_TRIM = _load_trim()


def _release_free_memory() -> None:
    """Hand the C heap's free pages back after a batch's COPY buffers are gone.

    Without it the large, short-lived buffers of one batch after another leave
    the heap fragmented, and a long replay's resident memory creeps up with
    the length of the log rather than staying with the size of the fleet.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)

