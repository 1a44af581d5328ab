"""Which role may do what; a denied role gets 403 before any lookup, so no existence leaks."""

from __future__ import annotations

from .auth import Principal
from .errors import Problem

READ, WRITE, CREATE, DELETE, LIST = "read", "write", "create", "delete", "list"

_INVENTORY = {
    READ: {"root", "admin", "member", "auditor"},
    LIST: {"root", "admin", "member", "auditor"},
    WRITE: {"root", "admin", "member"},
    CREATE: {"root", "admin", "member"},
    DELETE: {"root", "admin", "member"},
}
_RULES: dict[str, dict[str, set[str]]] = {
    "project": {
        READ: {"root", "admin", "member", "auditor"},
        LIST: {"root"},
        WRITE: {"root", "admin"},
        CREATE: {"root"},
        DELETE: {"root"},
    },
    "user": {
        READ: {"root", "admin", "auditor"},
        LIST: {"root", "admin", "auditor"},
        WRITE: {"root", "admin"},
        CREATE: {"root", "admin"},
        DELETE: {"root", "admin"},
    },
    "audit": {READ: {"root", "admin", "member", "auditor"}},
}


def allowed(principal: Principal, subject: str, action: str) -> bool:
    return principal.role in _RULES.get(subject, _INVENTORY).get(action, set())


def require(principal: Principal, subject: str, action: str) -> None:
    """403 unless the caller's role may do ``action`` on ``subject`` (a kind, or 'audit')."""
    if not allowed(principal, subject, action):
        verb = {LIST: "list", READ: "read", CREATE: "create"}.get(action, "change")
        plural = "" if subject == "audit" else "s"
        raise Problem(403, f"role {principal.role!r} may not {verb} {subject}{plural}")


def unreadable_kinds(principal: Principal) -> tuple[str, ...]:
    """The kinds ``principal`` may not read: the audit trail and diffs leave their
    events out, as the resources' own endpoints refuse them."""
    return tuple(sorted(kind for kind, rules in _RULES.items()
                        if kind != "audit" and principal.role not in rules.get(READ, ())))
