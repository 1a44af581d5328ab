"""Report ``access``: users and roles, tokens issued and used, requests refused."""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

from sqlalchemy import Connection

from craton.compliance.access_log import access_rows, has_access_log
from craton.projections.tables import LIVE
from craton.reports.base import BaseReport, Cell, ReportData, Table, Window
from craton.reports.figures import counted_table, daily_chart, project_label, when
from craton.reports.queries import events_in, project_names, resources_at


class Access(BaseReport):
    """Who can act on the fleet, with which role, and who was turned away."""

    name = "access"
    reads_credential_uses = True
    title = "Access"
    description = ("Users, roles, token creation and use (a credential's use is counted "
                   "when an API worker checks it, at most once per "
                   "CRATON_AUTH_CACHE_SECONDS), and denied requests.")
    # It names every user, role and refused address: only those who may list users.
    permission: ClassVar[tuple[str, str]] = ("user", "list")

    def compute(self, conn: Connection, window: Window, project_id: str | None, *,
                hidden_kinds: tuple[str, ...] = ()) -> ReportData:
        users = resources_at(conn, "user", window.until, project_id)
        projects = project_names(conn)
        events = events_in(conn, window, project_id, LIVE.events.c.kind == "user",
                           hidden_kinds=hidden_kinds)
        issued = [e for e in events if e.event_type == "User.TokenIssued"]
        registered = [e for e in events if e.event_type == "User.Registered"]
        role_changes = [e for e in events if e.event_type == "User.Updated"
                        and "role" in ((e.changes or {}).get("fields") or {})]
        logged = access_rows(conn, window.start, window.end, project_id)
        used = [r for r in logged if r.outcome == "allowed"]
        denied = [r for r in logged if r.outcome == "denied"]
        names = {u.id: u.name for u in users}
        issued_by_user: Counter[int] = Counter(e.resource_id for e in issued)
        last_issued: dict[int, Any] = {e.resource_id: e.time for e in issued}
        uses: Counter[Any] = Counter(r.user_id for r in used)
        last_used: dict[Any, Any] = {r.user_id: r.time for r in used}
        denied_by_user: Counter[Any] = Counter(r.user_id for r in denied if r.user_id)
        user_rows: list[list[Cell]] = [[
            u.id, u.name, u.data.get("role"),
            project_label(projects, u.project_id, "(all projects)"),
            when(u.created_at), issued_by_user[u.id], when(last_issued.get(u.id)),
            uses[u.id], when(last_used.get(u.id)), denied_by_user[u.id],
        ] for u in users]
        roles: Counter[str] = Counter(str(u.data.get("role")) for u in users)
        data = self.new(window, project_id)
        data.summary = {
            "users": len(users),
            "users_created": len(registered),
            "tokens_issued": len(issued),
            "role_changes": len(role_changes),
            "token_uses": len(used),
            "denied_requests": len(denied),
            "denied_401": sum(1 for r in denied if r.status == 401),
            "denied_403": sum(1 for r in denied if r.status == 403),
            **{f"role_{role}": n for role, n in sorted(roles.items())},
        }
        data.tables = [
            Table("users", "Users", ["user_id", "user", "role", "project", "created_at",
                                     "tokens_issued_in_window", "last_token_issued_at",
                                     "token_uses_in_window", "last_used_at",
                                     "denied_in_window"], user_rows),
            counted_table("roles", "Users by role", ("role", "users"), roles),
            Table("tokens_issued", "Tokens issued",
                  ["position", "time", "user_id", "user", "issued_by", "source", "reason"],
                  [[e.position, when(e.time), e.resource_id, names.get(e.resource_id),
                    e.actor_name, e.source, e.reason] for e in issued]),
            Table("role_changes", "Role changes",
                  ["position", "time", "user_id", "user", "from_role", "to_role", "changed_by",
                   "reason"],
                  [[e.position, when(e.time), e.resource_id, names.get(e.resource_id),
                    *e.changes["fields"]["role"], e.actor_name, e.reason]
                   for e in role_changes]),
            Table("denied", "Denied requests",
                  ["time", "status", "method", "path", "user_id", "user", "project",
                   "remote_addr", "request_id", "reason"],
                  [[when(r.time), r.status, r.method, r.path, r.user_id, r.user_name,
                    r.project_id, r.remote_addr, r.request_id, r.reason] for r in denied]),
        ]
        data.charts = [
            daily_chart("Denied requests per day", denied, window, "requests"),
            daily_chart("Tokens issued per day", issued, window, "tokens"),
        ]
        if not has_access_log(conn):
            data.notes.append("The access log is not installed: denied requests and token "
                              "use are not recorded.")
        return data

