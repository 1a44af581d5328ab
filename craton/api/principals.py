"""Recently authenticated callers, kept for a few seconds.

A request that authenticates costs a read transaction and a user query,
often more than the page it asks for. Callers repeat their credentials on
every request, so the principal a credential resolved to is kept for
``ttl`` seconds (``CRATON_AUTH_CACHE_SECONDS``; 0 turns it off), as token
caches in front of identity services do. Only successful authentications
are kept, keyed by a digest of the credential headers (never the secrets
themselves). A change to users or projects made through this process
forgets everything at once; one made through another process is seen
within ``ttl`` seconds.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

from .auth import Principal

HEADERS = ("X-AUTH-PROJECT", "X-AUTH-USER", "X-AUTH-TOKEN", "AUTHORIZATION")


class Principals:
    """Credential digest -> (expiry, principal), bounded, thread-safe."""

    def __init__(self, ttl: float, capacity: int = 4096,
                 clock: Callable[[], float] = time.monotonic):
        self.ttl, self.capacity, self.clock = ttl, capacity, clock
        self._kept: dict[bytes, tuple[float, Principal]] = {}
        self._lock = threading.Lock()
        self.generation = 0  # moved on by forget(): what was read before is not kept

    @staticmethod
    def key(headers: dict[str, str]) -> bytes:
        joined = "\0".join(headers.get(h, "") for h in HEADERS)
        return hashlib.sha256(joined.encode()).digest()

    def get(self, key: bytes) -> Principal | None:
        if self.ttl <= 0:
            return None
        kept = self._kept.get(key)
        if kept is None:
            return None
        if kept[0] <= self.clock():
            with self._lock:
                self._kept.pop(key, None)
            return None
        return kept[1]

    def put(self, key: bytes, principal: Principal, generation: int) -> None:
        """Keep ``principal``, unless the cache was emptied since ``generation`` was read
        (an authentication that raced a change to users must not outlive it)."""
        if self.ttl <= 0:
            return
        with self._lock:
            if generation != self.generation:
                return
            if len(self._kept) >= self.capacity:
                self._kept.clear()
            self._kept[key] = (self.clock() + self.ttl, principal)

    def forget(self) -> None:
        with self._lock:
            self._kept.clear()
            self.generation += 1
