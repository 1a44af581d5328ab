"""A first page prepared once per PostgreSQL connection answers as the same page sent
as text does, however the server's prepared statements come and go."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Connection

from craton import prepared
from craton.bootstrap import Services
from craton.projections.items import list_texts
from craton.projections.listing import PRESENTED, ListQuery
from tests.conftest import make_fleet

ASKS = [
    {}, {"details": True}, {"vars": {"role": "compute"}}, {"vars": {"role": "storage"}},
    {"labels": ["gpu"]}, {"limit": 1},
]


def _page(conn: Connection, with_head: bool, **asked: object) -> list[object]:
    q = ListQuery(kinds=("host",), with_labels=True, columns=PRESENTED, **asked)  # type: ignore[arg-type]
    page = list_texts(conn, q, with_head=with_head)
    assert page is not None
    return [json.loads(text) for text in page.texts]


def _held(conn: Connection) -> list[str]:
    return [name for (name,) in conn.exec_driver_sql(
        "SELECT name FROM pg_prepared_statements ORDER BY name")]


def _fleet(services: Services) -> None:
    f = make_fleet(services)
    led, meta = services.ledger, f["meta"]
    for n, role in enumerate(["compute", "compute", "storage"]):
        led.register(meta, "host", {"name": f"p{n}", "region_id": f["region"]["id"]},
                     variables={"role": role}, labels=["gpu"] if n else [])


def test_a_prepared_page_equals_the_page_sent_as_text(services: Services) -> None:
    _fleet(services)
    for asked in ASKS:
        with services.db.reading() as conn:  # in a transaction: sent as text
            expected = _page(conn, False, **asked)
        for _ in range(3):  # prepared by the first, executed by name by the next
            with services.db.one_statement() as conn:
                assert _page(conn, True, **asked) == expected, asked
    with services.db.one_statement() as conn:
        assert [h["name"] for h in _page(conn, True, vars={"role": "storage"})] == ["p2"]
        if services.db.is_postgres:
            assert _held(conn)  # (what one connection of the pool holds)


@pytest.fixture
def postgres(services: Services) -> Services:
    """A fleet on PostgreSQL, the only database whose reads take prepared statements."""
    if not services.db.is_postgres:
        pytest.skip("only PostgreSQL reads take prepared statements")
    _fleet(services)
    return services


@pytest.mark.parametrize("disagreement", [
    "DEALLOCATE ALL",  # the server forgot them
    # another result type for a column the page reads (a table rebuilt in another shape)
    "ALTER TABLE resource_versions ALTER COLUMN labels_json TYPE varchar(4000)",
])
def test_a_statement_is_prepared_again_when_the_server_disagrees(
        postgres: Services, disagreement: str) -> None:
    with postgres.db.one_statement() as conn:
        expected = _page(conn, True)
        assert _held(conn)
        conn.exec_driver_sql(disagreement)
        assert _page(conn, True) == expected
        assert len(_held(conn)) == 1


def test_a_connection_keeps_a_bounded_number_of_statements(
        postgres: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prepared, "KEPT", 2)
    with postgres.db.one_statement() as conn:
        conn.exec_driver_sql("DEALLOCATE ALL")
        conn.info.pop("craton.prepared", None)
        for asked in ASKS:
            _page(conn, True, **asked)
            assert len(_held(conn)) <= 2


def test_a_page_is_planned_once_for_its_values(postgres: Services) -> None:
    with postgres.db.one_statement() as conn:
        conn.exec_driver_sql("DEALLOCATE ALL")
        conn.info.pop("craton.prepared", None)
        for _ in range(7):  # (past the five custom plans a statement with values gets)
            assert [h["name"] for h in _page(conn, True, vars={"role": "storage"})] == ["p2"]
        plans = conn.exec_driver_sql(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements").all()
        assert plans == [(7, 0)]


def test_a_read_inside_a_transaction_prepares_nothing(postgres: Services) -> None:
    with postgres.db.reading() as conn:
        conn.exec_driver_sql("DEALLOCATE ALL")
        conn.info.pop("craton.prepared", None)
        _page(conn, True, details=True)
        assert _held(conn) == []
