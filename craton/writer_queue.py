"""Writers to one SQLite file take turns on a lock file instead of polling.

A writer that finds an SQLite database locked sleeps and retries, 1, 2, 5,
10 ms and longer, so processes taking turns at short writes spend most of
their time asleep while the database is free. Craton's writers first take an
exclusive ``flock`` on ``<database>.writer``, retried every half millisecond,
and so start within a fraction of a millisecond of the previous write's end.
SQLite's own lock still guards the data: writers that do not queue here (the
flow logbook, the access log) are kept out by it as before.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from craton.domain.errors import ConcurrentWrite

try:
    import fcntl
except ImportError:  # not POSIX: SQLite's own waiting only
    fcntl = None  # type: ignore[assignment]

RETRY_SECONDS = 0.0005


class WriterQueue:
    """Turns at writing one SQLite file, across threads and processes."""

    def __init__(self, database_path: str, timeout: float = 30.0):
        self.path = database_path + ".writer"
        self.timeout = timeout
        self._thread_turn = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    @contextmanager
    def turn(self) -> Iterator[None]:
        if fcntl is None:
            yield
            return
        deadline = time.monotonic() + self.timeout
        if not self._thread_turn.acquire(timeout=self.timeout):
            raise ConcurrentWrite("the database has been busy for too long; try again")
        try:
            fd = self._open()
            if fd is None:  # no lock file possible (read-only directory): SQLite alone
                yield
                return
            self._wait(fd, deadline)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._thread_turn.release()

    def _wait(self, fd: int, deadline: float) -> None:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() > deadline:
                raise ConcurrentWrite("the database has been busy for too long; try again")
            time.sleep(RETRY_SECONDS)

    def _open(self) -> int | None:
        # A forked child opens its own: a lock belongs to an open file description,
        # and one inherited from the parent would be shared with it.
        if self._fd is None or self._pid != os.getpid():
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                self._fd = None
            self._pid = os.getpid()
        return self._fd
