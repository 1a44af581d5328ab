"""As-of, history, diff and replay, the same tests on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from craton import replay
from craton.bootstrap import Services
from craton.domain import clock
from craton.domain.meta import Meta, system_meta
from craton.projections import audit, diff, listing, timeline, variables
from craton.projections.tables import LIVE
from tests.conftest import make_fleet


def head(svc: Services) -> int:
    with svc.db.reading() as conn:
        return timeline.head(conn)


def hosts_at(svc: Services, at: int | None, **kw: object) -> list[dict[str, object]]:
    with svc.db.reading() as conn:
        q = listing.ListQuery(kinds=("host",), at=at, details=True, **kw)  # type: ignore[arg-type]
        rows, _ = listing.list_rows(conn, q)
        return listing.present_rows(conn, rows, at, True)


def test_as_of_shows_each_moment(services: Services) -> None:
    f = make_fleet(services)
    led, meta, host = services.ledger, f["meta"], f["host"]
    before = head(services)
    led.set_variables(meta, "host", host["id"], {"kernel": "6.1"})
    middle = head(services)
    led.set_variables(meta, "host", host["id"], {"kernel": "6.6"})
    assert hosts_at(services, before)[0]["variables"] == {}
    assert hosts_at(services, middle)[0]["variables"] == {"kernel": "6.1"}
    assert hosts_at(services, None)[0]["variables"] == {"kernel": "6.6"}
    assert hosts_at(services, 0) == []


def test_as_of_a_time_maps_to_the_last_position_before_it(services: Services) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with clock.using(lambda: start):
        f = make_fleet(services)
    with clock.using(lambda: start + timedelta(days=2)):
        services.ledger.set_variables(f["meta"], "host", f["host"]["id"], {"a": 1})
    with services.db.reading() as conn:
        day_one = timeline.resolve(conn, "2026-01-02T00:00:00Z")
        assert timeline.resolve(conn, "2025-12-31T00:00:00Z") == 0
    assert hosts_at(services, day_one)[0]["variables"] == {}


def test_deleted_host_stays_in_history_as_of_and_diff(services: Services) -> None:
    f = make_fleet(services)
    led, meta = services.ledger, f["meta"]
    doomed = led.register(meta, "host", {"name": "doomed", "region_id": f["region"]["id"]},
                          labels=["old"])
    alive = head(services)
    led.delete(meta, "host", doomed["id"])
    assert [h["name"] for h in hosts_at(services, None)] == ["host-1"]
    assert [h["name"] for h in hosts_at(services, alive)] == ["host-1", "doomed"]
    with services.db.reading() as conn:
        trail, _ = audit.history(conn, doomed["id"])
        changes = diff.diff(conn, alive, timeline.head(conn))
    assert [e["event_type"] for e in trail] == ["Host.Registered", "Host.Deleted"]
    assert [d["name"] for d in changes["deleted"]] == ["doomed"]


def test_resolved_variables_follow_the_chain_with_blame(services: Services) -> None:
    f = make_fleet(services)
    led, meta = services.ledger, f["meta"]
    led.set_variables(meta, "cloud", f["cloud"]["id"], {"ntp": "cloud", "dns": "cloud"})
    led.set_variables(meta, "region", f["region"]["id"], {"dns": "region"})
    child = led.register(meta, "host", {"name": "bmc", "region_id": f["region"]["id"],
                                        "parent_id": f["host"]["id"]})
    led.set_variables(meta, "host", f["host"]["id"], {"ntp": "parent"})
    with services.db.reading() as conn:
        row = listing.get_row(conn, "host", child["id"], None, None)
        values = variables.resolved(conn, [row], None)[child["id"]]
    assert {k: (v, src.kind) for k, (v, src) in values.items()} == {
        "ntp": ("parent", "host"), "dns": ("region", "region")}


def test_paging_by_marker_sees_every_host_once(services: Services) -> None:
    f = make_fleet(services)
    led, meta = services.ledger, f["meta"]
    for n in range(7):
        led.register(meta, "host", {"name": f"h{n}", "region_id": f["region"]["id"]})
    snapshot = head(services)
    seen, marker = [], None
    while True:
        page = hosts_at(services, snapshot, limit=3, marker=marker)
        led.register(meta, "host", {"name": f"late-{len(seen)}",
                                    "region_id": f["region"]["id"]})
        if not page:
            break
        seen += [h["name"] for h in page]
        marker = page[-1]["id"]
    assert len(seen) == len(set(seen)) == 8


def test_vars_filter_matches_own_and_inherited_values(services: Services) -> None:
    f = make_fleet(services)
    led, meta = services.ledger, f["meta"]
    led.set_variables(meta, "cell", f["cell"]["id"], {"zone": "a"})
    other = led.register(meta, "host", {"name": "h2", "region_id": f["region"]["id"]})
    led.set_variables(meta, "host", other["id"], {"zone": "a"})
    own = hosts_at(services, None, vars={"zone": "a"})
    inherited = hosts_at(services, None, vars={"zone": "a"}, resolved_vars=True)
    assert [h["name"] for h in own] == ["h2"]
    assert sorted(h["name"] for h in inherited) == ["h2", "host-1"]


def test_replay_rebuilds_exactly_what_was_projected_live(services: Services) -> None:
    f = make_fleet(services)
    led, meta = services.ledger, f["meta"]
    led.set_variables(meta, "host", f["host"]["id"], {"a": 1})
    led.add_labels(meta, "host", f["host"]["id"], ["gpu"])
    vm = led.register(meta, "instance", {"name": "vm", "host_id": f["host"]["id"]})
    led.delete(meta, "instance", vm["id"])
    assert replay.verify(services, batch_size=3).differences == []
    replay.rebuild(services, batch_size=2)
    assert replay.verify(services).differences == []
    # the swapped-in tables still take writes
    led.set_variables(meta, "host", f["host"]["id"], {"after": "rebuild"})
    led.add_labels(meta, "host", f["host"]["id"], ["late"])
    assert replay.verify(services).differences == []


def test_verify_reports_a_tampered_read_model(services: Services) -> None:
    f = make_fleet(services)
    with services.db.writing() as session:
        session.execute(LIVE.resources.update()
                        .where(LIVE.resources.c.id == f["host"]["id"])
                        .values(name="forged"))
    differences = replay.verify(services).differences
    assert any("resource_versions" in d and "name" in d for d in differences)


def test_verify_counts_every_difference_and_lists_the_first(services: Services) -> None:
    f = make_fleet(services)
    labels = LIVE.labels
    with services.db.writing() as session:
        session.execute(labels.insert(), [
            {"resource_id": f["host"]["id"], "label": f"forged-{n:03d}", "valid_from": 1,
             "from_time": datetime(2026, 1, 1, tzinfo=UTC)} for n in range(60)])
    result = replay.verify(services)
    assert result.difference_count == 60
    assert len(result.differences) == 51
    assert result.differences[-1] == "label_versions: 10 more differences not listed (60 in all)"


def test_verify_compares_text_keys_in_one_order_whatever_the_collation(
        services: Services) -> None:
    """A table whose collation orders 'beta' before 'Zeta' (en-US) is read in
    code-point order, as the comparison walks it: one missing label is one difference."""
    if not services.db.is_postgres:
        pytest.skip("SQLite orders text by its code points")
    f = make_fleet(services)
    services.ledger.add_labels(f["meta"], "host", f["host"]["id"], ["alpha", "beta", "Zeta"])
    with services.db.writing() as session:
        collations = session.execute(text(
            "SELECT collname FROM pg_collation WHERE collname IN ('en-US-x-icu', 'en_US')"
        )).scalars().all()
        if not collations:
            pytest.skip("no linguistic collation on this server")
        session.execute(text(
            f'ALTER TABLE label_versions ALTER COLUMN label TYPE varchar(255) '
            f'COLLATE "{sorted(collations)[0]}"'))
        session.execute(LIVE.labels.delete().where(LIVE.labels.c.label == "alpha"))
    try:
        differences = replay.verify(services).differences
    finally:
        with services.db.writing() as session:
            session.execute(text('ALTER TABLE label_versions ALTER COLUMN label TYPE '
                                 'varchar(255) COLLATE "default"'))
    assert len(differences) == 1 and "'alpha'" in differences[0]
    assert "missing from the live table" in differences[0]


def test_audit_trail_filters(services: Services) -> None:
    f = make_fleet(services)
    led, meta = services.ledger, f["meta"]
    led.set_variables(meta, "host", f["host"]["id"], {"a": 1})
    with services.db.reading() as conn:
        rows, _ = audit.events(conn, audit.EventQuery(
            resource_type="host", event_type="Host.VariablesSet"))
        by_actor, _ = audit.events(conn, audit.EventQuery(actor="alice", limit=2))
        by_request, _ = audit.events(conn, audit.EventQuery(request_id=meta.request_id))
    assert [r.reason for r in rows] == ["setup"]
    assert len(by_actor) == 2
    assert len(by_request) >= 4


def test_a_new_schema_version_is_rebuilt_from_the_log(services: Services) -> None:
    from sqlalchemy import update

    from craton.cli import rebuild_if_needed

    f = make_fleet(services)
    with services.db.writing() as session:  # as if written by an older version
        session.execute(update(LIVE.state).where(LIVE.state.c.name == "schema_version")
                        .values(value=0))
        session.execute(LIVE.variables.delete())
    services.ledger.set_variables(f["meta"], "host", f["host"]["id"], {"a": 1})
    assert replay.needs_rebuild(services)
    rebuild_if_needed(services)
    assert not replay.needs_rebuild(services)
    assert replay.verify(services).differences == []


def test_a_listing_page_carries_each_hosts_labels_now_and_as_of(services: Services) -> None:
    f = make_fleet(services)
    led, meta = services.ledger, f["meta"]
    web = led.register(meta, "host", {"name": "web", "region_id": f["region"]["id"]},
                       labels=["web", "Prod", "db"])
    before = head(services)
    led.add_labels(meta, "host", web["id"], ["edge"])
    led.remove_labels(meta, "host", web["id"], ["db"])

    def labels_at(at: int | None) -> dict[str, list[str]]:
        with services.db.reading() as conn:
            rows, _ = listing.list_rows(conn, listing.ListQuery(
                kinds=("host",), at=at, with_labels=True))
            return {item["name"]: item["labels"]
                    for item in listing.present_rows(conn, rows, at, details=False)}

    # Code-point order on both databases; a host without labels shows an empty list.
    assert labels_at(None) == {"host-1": [], "web": ["Prod", "edge", "web"]}
    assert labels_at(before) == {"host-1": [], "web": ["Prod", "db", "web"]}


@pytest.mark.parametrize("limit", [1, 2, 5])
def test_inherited_vars_filter_pages_through_sparse_and_dense_matches(
        services: Services, limit: int) -> None:
    """Rows are resolved a chunk at a time (a page, then four times more each time):
    every match is listed once, in order, however the chunks fall."""
    f = make_fleet(services)
    led, meta = services.ledger, f["meta"]
    sparse = led.register(meta, "cell", {"name": "sparse", "region_id": f["region"]["id"]})
    led.set_variables(meta, "cell", sparse["id"], {"tier": "gold"})
    expected = []
    for n in range(40):
        in_sparse = n % 9 == 4
        host = led.register(meta, "host", {
            "name": f"h{n:02d}", "region_id": f["region"]["id"],
            "cell_id": sparse["id"] if in_sparse else f["cell"]["id"]})
        if in_sparse or n >= 30:  # a rare match, then a dense run at the end
            expected.append(host["name"])
        if n >= 30 and not in_sparse:
            led.set_variables(meta, "host", host["id"], {"tier": "gold"})
    seen: list[str] = []
    marker = None
    with services.db.reading() as conn:
        while True:
            rows, more = listing.list_rows(conn, listing.ListQuery(
                kinds=("host",), vars={"tier": "gold"}, resolved_vars=True,
                limit=limit, marker=marker))
            seen += [r.name for r in rows]
            if not more:
                break
            assert len(rows) == limit  # only the last page is short, and none is empty
            marker = rows[-1].id
    assert rows
    assert seen == expected


def test_resolved_values_are_the_resolved_variables_without_their_sources(
        services: Services) -> None:
    f = make_fleet(services)
    led, meta = services.ledger, f["meta"]
    led.set_variables(meta, "project", f["project"]["id"], {"a": "project", "b": "project"})
    led.set_variables(meta, "cloud", f["cloud"]["id"], {"b": "cloud", "c": [1, {"d": None}]})
    led.set_variables(meta, "cell", f["cell"]["id"], {"c": "cell"})
    other = led.register(meta, "host", {"name": "h2", "region_id": f["region"]["id"]},
                         variables={"a": "own"})
    with services.db.reading() as conn:
        moment = timeline.head(conn)
    led.set_variables(meta, "region", f["region"]["id"], {"b": "region", "e": 0})
    led.delete_variables(meta, "host", other["id"], ["a"])
    for at in (None, moment):
        with services.db.reading() as conn:
            rows, _ = listing.list_rows(conn, listing.ListQuery(kinds=("host",), at=at))
            with_sources = variables.resolved(conn, rows, at)
            plain = variables.resolved_values(conn, rows, at)
        assert plain == {rid: {k: v for k, (v, _src) in found.items()}
                         for rid, found in with_sources.items()}
        assert len(plain) == 2 and all(plain.values())


def test_a_past_read_shows_the_version_and_update_time_of_its_moment(
        services: Services) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    with clock.using(lambda: start):
        f = make_fleet(services)
    led, meta, hid = services.ledger, f["meta"], f["host"]["id"]  # type: ignore[index]
    changes = [
        lambda: led.set_variables(meta, "host", hid, {"kernel": "6.1"}),
        lambda: led.add_labels(meta, "host", hid, ["gpu"]),
        lambda: led.record_facts(meta, "host", hid, {"cpus": 64}),
        lambda: led.update(meta, "host", hid, {"name": "host-1b"}),
        lambda: led.remove_labels(meta, "host", hid, ["gpu"]),
        lambda: led.delete_variables(meta, "host", hid, ["kernel"]),
    ]
    moments = [(head(services), 1, start)]
    for day, change in enumerate(changes, start=1):
        when = start + timedelta(days=day)
        with clock.using(lambda when=when: when):  # type: ignore[misc]
            change()
        moments.append((head(services), day + 1, when))
    for at, version, when in moments:
        with services.db.reading() as conn:
            row = listing.get_row(conn, "host", hid, None, at)
            assert row is not None
            assert (row.version, timeline.iso(row.updated_at)) == (version, timeline.iso(when))
            by_update = listing.ListQuery(kinds=("host",), at=at, sort_keys=("updated_at",),
                                          columns=listing.PRESENTED)
            page, _ = listing.list_rows(conn, by_update)
            assert [timeline.iso(r.updated_at) for r in page] == [timeline.iso(when)]
    with services.db.reading() as conn:
        now = listing.get_row(conn, "host", hid, None, None)
        assert now is not None
        assert (now.version, timeline.iso(now.updated_at)) == (7, timeline.iso(moments[-1][2]))
        # a new version of the row only where its fields changed: registered, renamed
        t = LIVE.resources
        versions = conn.execute(t.select().where(t.c.id == hid)).all()
        assert [v.data["name"] for v in sorted(versions, key=lambda v: v.valid_from)] == [
            "host-1", "host-1b"]
        entries, _ = audit.history(conn, hid)
    assert [e["state"]["name"] for e in entries] == ["host-1"] * 4 + ["host-1b"] * 3
    assert [e["valid_to"] for e in entries] == [e["valid_from"] for e in entries[1:]] + [None]
    assert replay.verify(services, batch_size=2).differences == []


def test_values_joined_by_the_database_read_back_exactly(services: Services) -> None:
    """A resource's key/value rows come back as one JSON object built in SQL: keys
    that need escaping and values that look like its punctuation survive it."""
    f = make_fleet(services)
    led, meta, host = services.ledger, f["meta"], f["host"]
    awkward = {'quote"d': 'a "b", c', "back\\slash": "}{", "ünï ☃": ["x", {"y": ":"}],
               "comma,colon:": 2 ** 70, "tab\tnew\nline": -1.5, "nothing": None,
               "empty": "", "nested": {"deep": {"er": [True, False]}}}
    led.set_variables(meta, "host", host["id"], awkward)
    moment = head(services)
    led.set_variables(meta, "host", host["id"], {'quote"d': 1})
    led.delete_variables(meta, "host", host["id"], ["back\\slash"])
    later = {**awkward, 'quote"d': 1}
    del later["back\\slash"]
    for at, expected in ((moment, awkward), (None, later)):
        with services.db.reading() as conn:
            found = variables.values_of(conn, LIVE.variables, [host["id"], -1], at)
        assert found == {host["id"]: expected, -1: {}}
        assert type(found[host["id"]]["comma,colon:"]) is int


def _documents_sql(services: Services, past: bool) -> tuple[str, tuple[str, ...]]:
    """The variables' documents statement as the driver is sent it, and its values' order."""
    dialect = services.db.engine.dialect
    compiled = variables.documents_statement(LIVE.variables, dialect.name, past).compile(
        dialect=dialect)
    return compiled.string, tuple(compiled.positiontup or ())


def test_variables_as_of_are_read_from_the_index_alone(services: Services) -> None:
    """A past read of variables names only columns its as-of index holds, so neither
    database visits the table for it (``valid_to`` is in the index beside the
    ``valid_until`` expression over it)."""
    f = make_fleet(services)
    services.ledger.set_variables(f["meta"], "host", f["host"]["id"], {"kernel": "6.1"})
    sql, order = _documents_sql(services, True)
    params = {"ids": f"{{{f['host']['id']}}}", "at": head(services)}
    with services.db.engine.connect() as conn:
        if services.db.is_postgres:
            for kind in ("seqscan", "bitmapscan", "indexscan"):  # what is left: index only
                conn.exec_driver_sql(f"SET LOCAL enable_{kind} = off")
            plan = conn.exec_driver_sql("EXPLAIN " + sql, params).all()
            expected = "Index Only Scan using ix_variable_res_from"
        else:
            params["ids"] = f"[{f['host']['id']}]"  # the text of a JSON array
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql,
                                        tuple(params[k] for k in order)).all()
            expected = "USING COVERING INDEX ix_variable_res_from"
    assert any(expected in str(line[-1]) for line in plan), plan


def test_current_variables_are_read_from_an_index_alone(services: Services) -> None:
    """The current variables' index holds their values, so neither database visits
    the table for a resource's current variables."""
    f = make_fleet(services)
    services.ledger.set_variables(f["meta"], "host", f["host"]["id"], {"kernel": "6.1"})
    sql, _order = _documents_sql(services, False)
    with services.db.engine.connect() as conn:  # (rolled back when it closes)
        if services.db.is_postgres:
            # The as-of index could serve it from the index alone as well: without it
            # (in this transaction only), the current index must.
            conn.exec_driver_sql("DROP INDEX ix_variable_res_from")
            for kind in ("seqscan", "bitmapscan", "indexscan"):  # what is left: index only
                conn.exec_driver_sql(f"SET LOCAL enable_{kind} = off")
            plan = conn.exec_driver_sql("EXPLAIN " + sql, {"ids": f"{{{f['host']['id']}}}"}
                                        ).all()
            expected = "Index Only Scan using ix_variable_current"
        else:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql,
                                        (f"[{f['host']['id']}]",)).all()
            expected = "USING COVERING INDEX"  # whichever of the two the planner takes
            # (on a large table SQLite takes the current index: it must hold the values)
            alone = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT key, value FROM variable_versions INDEXED BY "
                "ix_variable_current WHERE resource_id = ? AND valid_to IS NULL",
                (f["host"]["id"],)).all()
            assert any("USING COVERING INDEX ix_variable_current" in str(line[-1])
                       for line in alone), alone
    assert any(expected in str(line[-1]) for line in plan), plan


def test_resolving_many_rows_shares_what_lies_above_them_and_no_more(
        services: Services) -> None:
    """Rows with the same cell, region, cloud and project share the levels above them;
    a row with a parent or a device, or in another cell, resolves through its own."""
    f = make_fleet(services)
    led, meta = services.ledger, f["meta"]
    region = f["region"]["id"]
    led.set_variables(meta, "project", f["project"]["id"], {"p": "project", "x": "project"})
    led.set_variables(meta, "cloud", f["cloud"]["id"], {"x": "cloud"})
    led.set_variables(meta, "region", region, {"x": "region", "r": "region"})
    led.set_variables(meta, "cell", f["cell"]["id"], {"x": "cell"})
    other_cell = led.register(meta, "cell", {"name": "cell-2", "region_id": region},
                              variables={"x": "cell-2"})
    switch = led.register(meta, "network-device", {"name": "sw1", "region_id": region},
                          variables={"x": "switch", "s": "switch"})
    twin = led.register(meta, "host", {"name": "host-2", "region_id": region,
                                       "cell_id": f["cell"]["id"]}, variables={"own": 2})
    moved = led.register(meta, "host", {"name": "host-3", "region_id": region,
                                        "cell_id": other_cell["id"]})
    below = led.register(meta, "host", {"name": "host-4", "region_id": region,
                                        "parent_id": switch["id"]})
    nic = led.register(meta, "network-interface", {"name": "eth0", "device_id": twin["id"]},
                       variables={"mtu": 9000})
    above = {"p": "project", "r": "region"}
    expected = {
        f["host"]["id"]: {**above, "x": "cell"},
        twin["id"]: {**above, "x": "cell", "own": 2},
        moved["id"]: {**above, "x": "cell-2"},
        below["id"]: {**above, "x": "switch", "s": "switch"},
        nic["id"]: {**above, "x": "cell", "own": 2, "mtu": 9000},
        f["cell"]["id"]: {**above, "x": "cell"},
        region: {**above, "x": "region"},
    }
    with services.db.reading() as conn:
        rows = [listing.get_row(conn, kind, rid, None, None) for kind, rid in (
            ("host", f["host"]["id"]), ("host", twin["id"]), ("host", moved["id"]),
            ("host", below["id"]), ("network-interface", nic["id"]),
            ("cell", f["cell"]["id"]), ("region", region))]
        found = variables.resolved_values(conn, rows, None)
    assert found == expected


def test_a_past_read_resolves_through_its_project_even_one_deleted_since(
        services: Services) -> None:
    f = make_fleet(services)
    led = services.ledger
    led.set_variables(f["meta"], "project", f["project"]["id"], {"owner": "acme"})
    gone = led.register(system_meta(), "project", {"name": "gone"}, variables={"owner": "x"})
    meta = Meta(actor_id=1, actor_name="alice", source="api", project_id=str(gone["uuid"]),
                reason="setup")
    cloud = led.register(meta, "cloud", {"name": "cloud-x"})
    moment = head(services)
    led.delete(meta, "cloud", cloud["id"])
    led.delete(system_meta(), "project", gone["id"])
    later = led.register(system_meta(), "project", {"name": "later"}, variables={"owner": "y"})
    for at, expected in ((moment, {f["host"]["id"]: "acme", cloud["id"]: "x"}),
                         (None, {f["host"]["id"]: "acme"})):
        with services.db.reading() as conn:
            rows = [r for r in (listing.get_row(conn, kind, rid, None, at) for kind, rid in (
                ("host", f["host"]["id"]), ("cloud", cloud["id"]))) if r is not None]
            found = variables.resolved_values(conn, rows, at)
        assert {rid: values.get("owner") for rid, values in found.items()} == expected
    with services.db.reading() as conn:  # a project born after the moment is not there yet
        assert variables._projects_by_uuid(conn, {str(later["uuid"])}, moment, LIVE) == {}
