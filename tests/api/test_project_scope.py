"""What a project's callers see of their project, and only of it; where a write lands."""

from __future__ import annotations

from .conftest import build_fleet, ok, user_caller


def test_a_projects_own_changes_are_in_its_audit_trail_and_diff(root, fleet):
    admin = user_caller(root, fleet["pid"], "admin", "ada")
    before = int(root.get("/v1/hosts").headers["X-Craton-Position"])
    ok(admin.put(f"/v1/projects/{fleet['pid']}/variables",
                 json={"variables": {"ntp": "ntp.acme"}}))
    events = ok(admin.get("/v1/events", params={"since": f"@{before + 1}"}))["events"]
    assert [(e["event_type"], e["reason"]) for e in events] == [
        ("Project.VariablesSet", None)]
    assert ok(admin.get("/v1/events", params={"resource_type": "project"}))["events"]
    changed = ok(admin.get("/v1/diff", params={"from": f"@{before}"}))["changed"]
    assert changed == [{"resource_type": "project", "id": fleet["pid"], "name": "acme",
                        "changes": {"variables": {"ntp": [None, "ntp.acme"]}}}]


def test_a_marker_of_another_project_is_refused_like_an_unknown_one(root, fleet):
    other = build_fleet(root, "globex")
    member = fleet["member"]
    mine = ok(member.get("/v1/hosts", params={"marker": fleet["host"]["id"]}))
    assert mine["hosts"] == []
    theirs = member.get("/v1/hosts", params={"marker": other["host"]["id"],
                                             "sort_keys": "name"})
    unknown = member.get("/v1/hosts", params={"marker": 999_999, "sort_keys": "name"})
    assert theirs.status_code == unknown.status_code == 400
    assert ok(theirs, 400)["errors"] == ok(unknown, 400)["errors"] == {
        "marker": ["unknown marker"]}
    cell = member.get("/v1/hosts", params={"marker": fleet["cell"]["id"]})
    assert cell.status_code == 400  # a cell is no item of a host listing


def test_a_write_says_the_position_of_its_event(member, fleet):
    made = member.post("/v1/clouds", json={"name": "second"})
    assert made.status_code == 201
    position = int(made.headers["X-Craton-Position"])
    cloud = made.json
    then = ok(member.get(f"/v1/clouds/{cloud['id']}", params={"as_of": f"@{position}"}))
    assert then["name"] == "second"
    changed = member.put(f"/v1/hosts/{fleet['host']['id']}", json={"note": "racked"})
    at = int(changed.headers["X-Craton-Position"])
    assert ok(member.get("/v1/events"))["events"][-1]["position"] == at > position
    varied = member.put(f"/v1/hosts/{fleet['host']['id']}/variables",
                        json={"variables": {"k": 1}})
    assert int(varied.headers["X-Craton-Position"]) == at + 1
    assert ok(member.get(f"/v1/hosts/{fleet['host']['id']}/variables",
                         params={"as_of": f"@{at}", "resolved-values": "false"})
              )["variables"] == {}


def test_a_write_that_changes_nothing_says_the_head(svc, member, fleet):
    import threading

    from craton.domain.meta import system_meta

    path = f"/v1/hosts/{fleet['host']['id']}/variables"
    at = int(member.put(path, json={"variables": {"k": 1}}).headers["X-Craton-Position"])
    elsewhere = threading.Thread(  # a change this thread did not make
        target=lambda: svc.ledger.register(system_meta(), "project", {"name": "later"}))
    elsewhere.start()
    elsewhere.join()
    nothing = member.delete(path, json={"variables": ["absent"]})
    assert nothing.status_code == 200
    assert int(nothing.headers["X-Craton-Position"]) > at  # the head, not the PUT's


def test_root_inside_a_project_finds_it_on_the_first_page_whatever_the_limit(root):
    build_fleet(root, "early")
    build_fleet(root, "middle")
    inside = build_fleet(root, "late")["root"]
    for params in ({"limit": 1}, {"limit": 1, "sort_dir": "desc"}, {}):
        listed = ok(inside.get("/v1/projects", params=params))
        assert [p["name"] for p in listed["projects"]] == ["late"], params
        assert not [link for link in listed["links"] if link["rel"] == "next"]
    assert ok(inside.get("/v1/projects", params={"name": "early"}))["projects"] == []
    assert len(ok(root.get("/v1/projects"))["projects"]) == 3


def test_a_role_that_may_not_read_users_does_not_read_them_in_the_audit_trail(root, fleet):
    member, auditor = fleet["member"], user_caller(root, fleet["pid"], "auditor", "aud")
    refused = member.get("/v1/events", params={"resource_type": "users"})
    assert "may not read users" in ok(refused, 403)["message"]
    ok(member.get("/v1/diff", params={"from": "@1", "resource_type": "user"}), 403)
    kinds = {e["resource_type"] for e in ok(member.get("/v1/events"))["events"]}
    assert "user" not in kinds and "host" in kinds
    changed = ok(member.get("/v1/diff", params={"from": "@1"}))
    assert "user" not in {c["resource_type"] for c in changed["created"]}
    seen = ok(auditor.get("/v1/events", params={"resource_type": "user"}))["events"]
    assert {e["resource_type"] for e in seen} == {"user"}
    created = ok(auditor.get("/v1/diff", params={"from": "@1"}))["created"]
    assert "user" in {c["resource_type"] for c in created}
