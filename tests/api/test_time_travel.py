"""as_of, history, the audit trail, diff, and paging through one snapshot."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from .conftest import ok


def position(result) -> int:
    return int(result.headers["x-craton-position"])


def test_as_of_a_position_shows_the_past_and_deleted_things(member, fleet):
    host = fleet["host"]["id"]
    path = f"/v1/hosts/{host}"
    before = position(member.get(path))
    member.put(path, json={"note": "changed"})
    member.put(f"{path}/variables", json={"variables": {"k": 1}})
    assert member.delete(path).status_code == 204
    assert member.get(path).status_code == 404
    old = member.get(f"{path}?as_of=@{before}")
    assert ok(old).get("note") is None and position(old) == before
    assert ok(member.get(f"{path}/variables?as_of=@{before}"))["variables"] == {}
    listed = ok(member.get(f"/v1/hosts?as_of=@{before}"))["hosts"]
    assert [h["id"] for h in listed] == [host]


def test_as_of_a_time_before_the_first_event_is_the_empty_fleet(member, fleet):
    assert ok(member.get("/v1/hosts?as_of=2000-01-01T00:00:00Z"))["hosts"] == []
    assert member.get(f"/v1/hosts/{fleet['host']['id']}?as_of=2000-01-01T00:00:00Z"
                      ).status_code == 404
    body = ok(member.get("/v1/hosts?as_of=yesterday"), 400)
    assert "as_of" in body["errors"]
    assert ok(member.get("/v1/hosts?as_of=2030-01-01T00:00:00"), 400)


def test_a_position_beyond_any_the_store_holds_is_a_400(member, fleet):
    huge = "@" + "9" * 20
    assert "as_of" in ok(member.get(f"/v1/hosts?as_of={huge}"), 400)["errors"]
    assert "since" in ok(member.get(f"/v1/events?since={huge}"), 400)["errors"]
    assert "from" in ok(member.get(f"/v1/diff?from={huge}"), 400)["errors"]


def test_as_of_a_time_matches_as_of_the_position(member, fleet):
    events = ok(member.get("/v1/events"))["events"]
    last = events[-1]
    by_time = ok(member.get(f"/v1/hosts?as_of={last['time']}"))
    by_pos = ok(member.get(f"/v1/hosts?as_of=@{last['position']}"))
    assert by_time["hosts"] == by_pos["hosts"]


def test_history_lists_every_version_with_who_and_why(member, fleet):
    path = f"/v1/hosts/{fleet['host']['id']}"
    member.put(path, json={"note": "n1"}, headers={"X-Craton-Reason": "CHG-1"})
    member.delete(path)
    history = ok(member.get(f"{path}/history"))["history"]
    assert [h["event_type"] for h in history] == ["Host.Registered", "Host.Updated",
                                                  "Host.Deleted"]
    assert history[1]["reason"] == "CHG-1" and history[1]["actor"]["name"] == "mia"
    assert history[1]["changes"]["fields"]["note"] == [None, "n1"]
    at_start = ok(member.get(f"{path}/history?as_of=@{history[0]['position']}"))["history"]
    assert len(at_start) == 1


def test_request_id_and_reason_are_stored_on_events(member, fleet):
    result = member.put(f"/v1/hosts/{fleet['host']['id']}", json={"note": "x"},
                        headers={"X-Request-Id": "req-42", "X-Craton-Reason": "JIRA-7"})
    assert result.headers["x-request-id"] == "req-42"
    events = ok(member.get("/v1/events?request_id=req-42"))["events"]
    assert len(events) == 1 and events[0]["reason"] == "JIRA-7"
    generated = member.get("/v1/hosts").headers["x-request-id"]
    assert generated and generated != "req-42"


def test_events_filter_and_page_by_position(member, fleet, root):
    host = fleet["host"]["id"]
    for i in range(3):
        member.put(f"/v1/hosts/{host}", json={"note": str(i)})
    mine = ok(member.get(f"/v1/events?resource_id={host}&event_type=Host.Updated"))["events"]
    assert len(mine) == 3 and all(e["actor"]["name"] == "mia" for e in mine)
    assert len(ok(member.get("/v1/events?actor=mia"))["events"]) == 3
    assert ok(member.get("/v1/events?resource_type=hosts"))["events"][0]["resource_id"] == host
    page = ok(member.get("/v1/events?limit=2"))
    nxt = next(link["href"] for link in page["links"] if link["rel"] == "next")
    second = ok(member.get(nxt))["events"]
    assert second[0]["position"] > page["events"][-1]["position"]
    since = mine[1]["position"]
    ranged = ok(member.get(f"/v1/events?since=@{since}&until=@{since}"))["events"]
    assert [e["position"] for e in ranged] == [since]
    by_time = ok(member.get(f"/v1/events?since={mine[1]['time']}&resource_id={host}"))
    assert [e["position"] for e in by_time["events"]] == [e["position"] for e in mine[1:]]


def test_diff_says_what_was_created_changed_and_deleted(member, fleet):
    start = position(member.get("/v1/hosts"))
    host = fleet["host"]["id"]
    member.put(f"/v1/hosts/{host}", json={"note": "n"})
    member.put(f"/v1/hosts/{host}/labels", json={"labels": ["l"]})
    new = ok(member.post("/v1/clouds", json={"name": "c-new"}), 201)
    gone = ok(member.post("/v1/clouds", json={"name": "c-gone"}), 201)
    member.delete(f"/v1/clouds/{gone['id']}")
    body = ok(member.get(f"/v1/diff?from=@{start}"))
    assert [c["id"] for c in body["created"]] == [new["id"]]
    changed = {c["id"]: c["changes"] for c in body["changed"]}
    assert changed[host]["fields"]["note"] == [None, "n"]
    assert changed[host]["labels"] == {"added": ["l"], "removed": []}
    assert body["deleted"] == []  # created and deleted inside the window
    only = ok(member.get(f"/v1/diff?from=@{start}&resource_type=cloud"))
    assert only["changed"] == [] and len(only["created"]) == 1
    assert "from" in ok(member.get("/v1/diff"), 400)["errors"]


def test_paging_follows_links_through_one_snapshot_while_writes_happen(member, fleet):
    region = fleet["region"]["id"]
    for i in range(7):
        ok(member.post("/v1/hosts", json={"name": f"p{i}", "region_id": region}), 201)
    first = member.get("/v1/hosts?limit=3&sort_keys=name&sort_dir=desc")
    snapshot = position(first)
    seen = [h["name"] for h in ok(first)["hosts"]]
    ok(member.post("/v1/hosts", json={"name": "zzz-late", "region_id": region}), 201)
    body = ok(first)
    while True:
        links = {link["rel"]: link["href"] for link in body["links"]}
        assert parse_qs(urlsplit(links["self"]).query)["as_of"] == [f"@{snapshot}"]
        if "next" not in links:
            break
        page = member.get(links["next"])
        assert position(page) == snapshot
        body = ok(page)
        assert "prev" in {link["rel"] for link in body["links"]}
        seen += [h["name"] for h in body["hosts"]]
    expected = sorted([f"p{i}" for i in range(7)] + [fleet["host"]["name"]], reverse=True)
    assert seen == expected


def test_prev_link_returns_the_previous_page(member, fleet):
    for i in range(5):
        member.post("/v1/clouds", json={"name": f"k{i}"})
    first = ok(member.get("/v1/clouds?limit=2"))
    second = ok(member.get(next(x["href"] for x in first["links"] if x["rel"] == "next")))
    back = ok(member.get(next(x["href"] for x in second["links"] if x["rel"] == "prev")))
    assert back["clouds"] == first["clouds"]
    assert ok(member.get("/v1/clouds?marker=999999"), 400)


def test_an_item_as_of_a_moment_carries_that_moments_version_and_update_time(member, fleet):
    host = fleet["host"]["id"]
    path = f"/v1/hosts/{host}"
    seen = []
    for change in ({"variables": {"k": 1}}, {"variables": {"k": 2}}, {"labels": ["gpu"]}):
        nested = "variables" if "variables" in change else "labels"
        ok(member.put(f"{path}/{nested}", json=change))
        now = member.get(path)
        seen.append((position(now), now.headers["ETag"], ok(now)["updated_at"]))
    assert len({etag for _, etag, _ in seen}) == 3  # each change is a new version
    for at, etag, updated in seen:
        then = member.get(f"{path}?as_of=@{at}")
        assert (then.headers["ETag"], ok(then)["updated_at"]) == (etag, updated)
        listed = ok(member.get(f"/v1/hosts?as_of=@{at}&sort_keys=updated_at"))["hosts"]
        assert [h["updated_at"] for h in listed] == [updated]
