"""Named errors raised by the domain, each with a message for a person."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule the ledger refuses to break."""

    status = 400

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class InvalidInput(DomainError):
    """A command whose fields are missing, unknown or of the wrong type."""


class InvalidReference(DomainError):
    """A reference to something that does not exist in the same project."""


class CycleError(DomainError):
    """A ``parent_id`` that would make a device its own ancestor."""


class HostNotActive(DomainError):
    """An instance placed on a host that is not active."""


class NotFound(DomainError):
    """No such resource, or not one the caller may see."""

    status = 404


class Conflict(DomainError):
    """The change conflicts with the current state."""

    status = 409


class NameTaken(Conflict):
    """A name already used by a sibling."""


class HasChildren(Conflict):
    """A delete refused because other resources depend on the target."""


class LedgerBusy(DomainError):
    """Another write held the ledger longer than a writer waits for it (on SQLite, the
    database's one write lock): nothing was written, and the same request may be
    retried."""

    status = 503


class ConcurrentWrite(Conflict):
    """Another write to the same resource won the race."""


class VersionMismatch(DomainError):
    """The caller's expected version (If-Match) is not the current one."""

    status = 412
