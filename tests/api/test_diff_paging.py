"""/v1/diff is paged by resource: each page compares the same two moments."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from .conftest import build_fleet, ok


def _page(caller, href: str):
    parts = urlsplit(href)
    return ok(caller.get(parts.path, query_string=parts.query))


def test_a_diff_is_walked_page_by_page_at_one_pair_of_moments(root):
    fleet = build_fleet(root)
    scoped = fleet["root"]
    start = int(scoped.get("/v1/hosts").headers["X-Craton-Position"])
    made = [ok(scoped.post("/v1/hosts", json={
        "name": f"h{n}", "region_id": fleet["region"]["id"]}), 201)["id"] for n in range(5)]
    page = ok(scoped.get("/v1/diff", params={"from": f"@{start}", "limit": 2}))
    seen, pages = [c["id"] for c in page["created"]], 1
    end = page["to"]
    while page["links"]:
        (link,) = page["links"]
        assert link["rel"] == "next"
        assert parse_qs(urlsplit(link["href"]).query)["to"] == [f"@{end}"]
        if pages == 1:  # a change after the first page is not in the later ones
            ok(scoped.post("/v1/hosts", json={"name": "late",
                                              "region_id": fleet["region"]["id"]}), 201)
        page = _page(scoped, link["href"])
        assert page["to"] == end and len(page["created"]) <= 2
        seen += [c["id"] for c in page["created"]]
        pages += 1
    assert seen == made and pages == 3
    whole = ok(scoped.get("/v1/diff", params={"from": f"@{start}", "to": f"@{end}"}))
    assert [c["id"] for c in whole["created"]] == made and whole["links"] == []


def test_a_diff_page_size_is_bounded(root):
    answer = root.get("/v1/diff", params={"from": "@0", "limit": 10001})
    assert answer.status_code == 400, answer.text
