"""If-Match with a list of ETags: the ledger compares the whole list with the current
version once, under its write lock, so a write that lands in between is judged by the
version it left."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from craton.bootstrap import Services
from craton.domain.meta import Meta

from .conftest import ok

Change = Callable[[], None]


@pytest.fixture
def write_first(svc: Services, monkeypatch: pytest.MonkeyPatch) -> Callable[[Change], None]:
    """Arrange for ``change`` to be committed as the next write of this thread begins:
    after anything the request read before its write, before its write takes the lock."""
    pending: list[Change] = []
    real = svc.db.writing
    thread = threading.get_ident()

    @contextmanager
    def writing() -> Iterator[Any]:
        if pending and threading.get_ident() == thread:
            pending.pop()()
        with real() as session:
            yield session

    monkeypatch.setattr(svc.db, "writing", writing)
    return pending.append


def _note_from_elsewhere(svc: Services, fleet: dict[str, Any]) -> Change:
    who = Meta(actor_id=None, actor_name="elsewhere", source="cli", project_id=fleet["pid"])
    return lambda: svc.ledger.set_variables(who, "host", fleet["host"]["id"], {"rack": 9})


WRITES = {
    "update": ("put", "", {"json": {"note": "n"}}),
    "set variables": ("put", "/variables", {"json": {"variables": {"k": 1}}}),
    "add labels": ("put", "/labels", {"json": {"labels": ["a"]}}),
    "delete": ("delete", "", {}),
}


@pytest.mark.parametrize("write", WRITES.values(), ids=list(WRITES))
def test_a_list_is_judged_by_the_version_a_write_landing_in_between_left(
        svc, member, fleet, write_first, write):
    method, suffix, kwargs = write
    path = f"/v1/hosts/{fleet['host']['id']}"
    assert member.get(path).headers["ETag"] == '"1"'
    write_first(_note_from_elsewhere(svc, fleet))  # version 2, which the list accepts
    answer = getattr(member, method)(path + suffix, headers={"If-Match": '"1", "2"'},
                                     **kwargs)
    assert answer.status_code in (200, 204), (answer.status_code, answer.text)
    if method == "put":
        assert answer.headers["ETag"] == '"3"'


def test_a_list_the_version_left_in_between_is_not_on_is_refused(svc, member, fleet,
                                                                   write_first):
    path = f"/v1/hosts/{fleet['host']['id']}"
    write_first(_note_from_elsewhere(svc, fleet))
    refused = ok(member.put(path, json={"note": "n"}, headers={"If-Match": '"1", "5"'}),
                 412)
    assert "version 2" in refused["message"]
    assert ok(member.get(path)).get("note") != "n"


def test_412_names_the_current_version_and_every_version_the_list_accepts(member, fleet):
    path = f"/v1/hosts/{fleet['host']['id']}"
    refused = ok(member.put(path, json={"note": "n"},
                            headers={"If-Match": '"901", "900"'}), 412)
    assert "version 1" in refused["message"] and "900 or 901" in refused["message"]
    for header in ('"900"', 'W/"1"'):  # one tag; a tag the write can never accept
        said = ok(member.put(path, json={"note": "n"}, headers={"If-Match": header}),
                  412)["message"]
        host = fleet["host"]["id"]
        assert said.endswith(f"host {host} is at version 1, not 900" if header == '"900"'
                             else f"host {host} is at version 1, and the write accepts "
                                  "no version")


@pytest.mark.parametrize("header", ['"1", "2"', "junk", 'W/"1"'])
def test_an_unknown_id_is_404_whatever_if_match_holds(member, header):
    for method, kwargs in (("put", {"json": {"note": "n"}}), ("delete", {})):
        answer = getattr(member, method)("/v1/hosts/999999", headers={"If-Match": header},
                                         **kwargs)
        assert answer.status_code == 404, (method, header, answer.text)
