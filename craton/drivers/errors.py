"""Errors a fleet driver raises, each carrying a message an operator can act on."""

from __future__ import annotations

__all__ = [
    "CapacityExceeded",
    "DriverError",
    "HostUnreachable",
    "MigrationFailed",
    "UnknownHost",
    "UnknownInstance",
    "VerificationFailed",
]


class DriverError(Exception):
    """Base class for every failure reported by a fleet driver."""

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        """Keep the human-readable message and whether a retry may help."""
        super().__init__(message)
        self.message = message
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        """Return the human-readable message."""
        return self.message


class HostUnreachable(DriverError):
    """The driver could not talk to a host (network, BMC or agent down)."""

    retryable = True

    def __init__(self, host: str, reason: str = "no response from the host") -> None:
        """Describe which host could not be reached and why."""
        super().__init__(f"host {host!r} is unreachable: {reason}")
        self.host = host
        self.reason = reason


class MigrationFailed(DriverError):
    """A live migration did not complete; the instance stays where it was."""

    retryable = True

    def __init__(
        self,
        instance: str,
        source: str,
        target: str,
        reason: str,
        *,
        retryable: bool | None = None,
    ) -> None:
        """Describe the migration that failed and why."""
        super().__init__(
            f"live migration of instance {instance!r} from {source!r} to {target!r} "
            f"failed: {reason}",
            retryable=retryable,
        )
        self.instance = instance
        self.source = source
        self.target = target
        self.reason = reason


class CapacityExceeded(MigrationFailed):
    """The target host lacks the free capacity the instance needs."""

    retryable = False

    def __init__(
        self,
        instance: str,
        source: str,
        target: str,
        resource: str,
        requested: float,
        available: float,
    ) -> None:
        """Describe which resource on the target is short and by how much."""
        super().__init__(
            instance,
            source,
            target,
            f"host {target!r} has {available:g} {resource} free "
            f"but the instance needs {requested:g}",
        )
        self.resource = resource
        self.requested = requested
        self.available = available


class VerificationFailed(DriverError):
    """A host did not pass its post-build or post-maintenance checks."""

    def __init__(self, host: str, reason: str) -> None:
        """Describe which host failed verification and why."""
        super().__init__(f"host {host!r} failed verification: {reason}")
        self.host = host
        self.reason = reason


class UnknownHost(DriverError):
    """The driver has no host with this name."""

    def __init__(self, host: str) -> None:
        """Name the host the driver does not know."""
        super().__init__(f"no host named {host!r} is known to the driver")
        self.host = host


class UnknownInstance(DriverError):
    """The driver has no instance with this name."""

    def __init__(self, instance: str) -> None:
        """Name the instance the driver does not know."""
        super().__init__(f"no instance named {instance!r} is known to the driver")
        self.instance = instance
