"""A resource's history is paged by position; its pages join up, pinned to one moment."""

from __future__ import annotations

from urllib.parse import urlsplit

from .conftest import build_fleet, ok


def test_a_history_is_walked_page_by_page(root):
    fleet = build_fleet(root)
    scoped, host = fleet["root"], fleet["host"]["id"]
    for n in range(6):
        ok(scoped.put(f"/v1/hosts/{host}/variables", json={"variables": {"n": n}}))
    whole = ok(scoped.get(f"/v1/hosts/{host}/history"))
    assert whole["links"] == [] and len(whole["history"]) == 7
    page = ok(scoped.get(f"/v1/hosts/{host}/history", params={"limit": 3}))
    walked = list(page["history"])
    while page["links"]:
        (link,) = page["links"]
        ok(scoped.put(f"/v1/hosts/{host}/variables", json={"variables": {"late": 1}}))
        parts = urlsplit(link["href"])
        page = ok(scoped.get(parts.path, query_string=parts.query))
        walked += page["history"]
    # The same entries as one page, valid_to included: later changes are not seen.
    assert walked == whole["history"]
    assert walked[-1]["valid_to"] is None


def test_a_page_after_the_last_event_is_empty_not_missing(root):
    fleet = build_fleet(root)
    host = fleet["host"]["id"]
    last = ok(fleet["root"].get(f"/v1/hosts/{host}/history"))["history"][-1]["position"]
    page = ok(fleet["root"].get(f"/v1/hosts/{host}/history", params={"after": last}))
    assert page == {"history": [], "links": []}
