"""Credentials, tokens and the root bootstrap."""

from __future__ import annotations

from craton.api.auth import create_root, ensure_root, hash_token, token_matches

from .conftest import Caller, build_fleet, ok, user_caller


def test_tokens_are_salted_hashes(svc):
    a, b = hash_token("s"), hash_token("s")
    assert a != b and token_matches("s", a) and token_matches("s", b)
    assert not token_matches("t", a) and not token_matches("s", None)


def test_missing_or_wrong_credentials_are_401(app_client, fleet):
    anonymous = Caller(app_client)
    assert ok(anonymous.get("/v1/hosts"), 401)["status"] == 401
    bad = Caller(app_client, {"Authorization": "Bearer 1.wrong"})
    assert bad.get("/v1/hosts").status_code == 401
    basic = Caller(app_client, {"Authorization": "Basic abc"})
    assert basic.get("/v1/hosts").status_code == 401
    assert anonymous.get("/healthz").status_code == 200


def test_credentials_of_one_project_do_not_open_another(root, fleet):
    other = ok(root.post("/v1/projects", json={"name": "other"}), 201)
    member: Caller = fleet["member"]
    assert member.in_project(other["id"]).get("/v1/hosts").status_code == 401
    assert member.in_project(fleet["pid"]).get("/v1/hosts").status_code == 200
    assert member.in_project("not-a-uuid").get("/v1/hosts").status_code == 401


def test_environment_root_token_works_once_and_is_not_replaced(svc, app_client):
    assert ensure_root(svc, "from-the-env")
    assert not ensure_root(svc, "another")
    root = Caller(app_client, {"Authorization": "Bearer from-the-env"})
    assert root.get("/v1/projects").status_code == 200
    header = Caller(app_client, {"X-Auth-User": "root", "X-Auth-Token": "from-the-env"})
    assert header.get("/v1/projects").status_code == 200
    assert Caller(app_client, {"Authorization": "Bearer another"}).get(
        "/v1/projects").status_code == 401


def test_create_root_rotates_the_token(svc, app_client):
    first = create_root(svc)
    second = create_root(svc)
    assert Caller(app_client, {"Authorization": f"Bearer {first}"}).get(
        "/v1/projects").status_code == 401
    assert Caller(app_client, {"Authorization": f"Bearer {second}"}).get(
        "/v1/projects").status_code == 200


def test_admin_manages_users_of_its_project_only(root, fleet):
    admin = Caller(root.client, {"Authorization": "Bearer " + ok(root.post("/v1/users", json={
        "username": "ada", "role": "admin", "project_id": fleet["pid"]}), 201)["token"]})
    made = ok(admin.post("/v1/users", json={"username": "ann", "role": "auditor"}), 201)
    assert made["project_id"] == fleet["pid"]
    assert ok(admin.post("/v1/users", json={"username": "r", "role": "root"}), 403)
    other = ok(root.post("/v1/projects", json={"name": "b"}), 201)
    assert ok(admin.post("/v1/users", json={"username": "x", "role": "member",
                                            "project_id": other["id"]}), 400)
    assert ok(admin.put(f"/v1/users/{made['id']}", json={"role": "member"}))["role"] == "member"
    assert ok(admin.put(f"/v1/users/{made['id']}", json={"role": "root"}), 403)
    assert admin.delete(f"/v1/users/{made['id']}").status_code == 204
    assert ok(root.post("/v1/users", json={"username": "nobody", "role": "member"}), 400)


def test_auditor_reads_everything_and_writes_nothing(root, fleet):
    auditor = Caller(root.client, {"Authorization": "Bearer " + ok(root.post(
        "/v1/users", json={"username": "aud", "role": "auditor",
                           "project_id": fleet["pid"]}), 201)["token"]})
    host = fleet["host"]["id"]
    for path in ("/v1/hosts", f"/v1/hosts/{host}/history", "/v1/events", "/v1/diff?from=@0",
                 "/v1/users"):
        assert auditor.get(path).status_code == 200, path
    assert ok(auditor.put(f"/v1/hosts/{host}", json={"note": "x"}), 403)
    assert ok(auditor.post("/v1/clouds", json={"name": "x"}), 403)


def test_a_user_deleted_through_a_worker_is_refused_by_it_at_once(root, fleet):
    made = ok(root.post("/v1/users", json={"username": "temp", "role": "member",
                                           "project_id": fleet["pid"]}), 201)
    temp = Caller(root.client, {"Authorization": f"Bearer {made['token']}"})
    assert temp.get("/v1/hosts").status_code == 200  # now remembered for a few seconds
    assert root.delete(f"/v1/users/{made['id']}").status_code == 204
    assert temp.get("/v1/hosts").status_code == 401


def test_a_change_made_elsewhere_is_seen_once_the_cache_expires(fleet):
    from craton.api.auth import Principal
    from craton.api.principals import Principals

    now = [100.0]
    kept = Principals(ttl=5, clock=lambda: now[0])
    key = kept.key({"AUTHORIZATION": "Bearer x"})
    kept.put(key, Principal(1, "ann", "member", fleet["pid"]), kept.generation)
    now[0] += 4.9
    assert kept.get(key) is not None
    now[0] += 0.2
    assert kept.get(key) is None
    assert kept.get(kept.key({"AUTHORIZATION": "Bearer y"})) is None
    off = Principals(ttl=0)
    off.put(key, Principal(1, "ann", "member", None), off.generation)
    assert off.get(key) is None


def test_a_caller_read_before_a_change_to_users_is_not_kept():
    from craton.api.auth import Principal
    from craton.api.principals import Principals

    kept = Principals(ttl=5)
    key = kept.key({"AUTHORIZATION": "Bearer x"})
    read_at = kept.generation  # a request starts authenticating...
    kept.forget()  # ...while another deletes a user
    kept.put(key, Principal(1, "ann", "member", None), read_at)
    assert kept.get(key) is None


def test_the_cache_time_must_be_a_sane_number_of_seconds(monkeypatch):
    import pytest

    from craton.settings import Settings

    for bad in ("nan", "inf", "-1", "1e9", "soon"):
        monkeypatch.setenv("CRATON_AUTH_CACHE_SECONDS", bad)
        with pytest.raises(ValueError, match="CRATON_AUTH_CACHE_SECONDS"):
            Settings.from_env()
    monkeypatch.setenv("CRATON_AUTH_CACHE_SECONDS", "0")
    assert Settings.from_env().auth_cache_seconds == 0


def test_a_token_rotated_by_another_process_is_refused_within_the_cache_time(svc):
    import falcon.testing

    from craton.api import create_app
    from craton.settings import Settings

    first = create_root(svc)
    uncached = falcon.testing.TestClient(create_app(_with(svc, Settings(
        database_url="sqlite://", auth_cache_seconds=0))))
    cached = falcon.testing.TestClient(create_app(svc))
    for client in (uncached, cached):
        assert client.simulate_get("/v1/projects", headers={
            "Authorization": f"Bearer {first}"}).status_code == 200
    create_root(svc)  # as `craton root-token` would, outside the API
    assert uncached.simulate_get("/v1/projects", headers={
        "Authorization": f"Bearer {first}"}).status_code == 401
    assert cached.simulate_get("/v1/projects", headers={
        "Authorization": f"Bearer {first}"}).status_code == 200  # until it expires


def _with(svc, settings):
    import dataclasses

    return dataclasses.replace(svc, settings=settings)


def test_a_user_name_written_in_utf8_signs_in_by_header(root, fleet):
    token = ok(root.post("/v1/users", json={"username": "zoë", "role": "member",
                                            "project_id": fleet["pid"]}), 201)["token"]
    as_wsgi = "zoë".encode().decode("latin-1")  # how WSGI hands the header over
    zoe = Caller(root.client, {"X-Auth-Project": fleet["pid"], "X-Auth-User": as_wsgi,
                               "X-Auth-Token": token})
    assert zoe.get("/v1/hosts").status_code == 200


def _uses(svc) -> list[tuple[str, int, str]]:
    from sqlalchemy import select

    from craton.compliance.access_log import ACCESS_LOG

    t = ACCESS_LOG
    with svc.db.reading() as conn:
        return [tuple(r) for r in conn.execute(
            select(t.c.user_name, t.c.status, t.c.outcome).order_by(t.c.id))]


def test_the_use_of_a_credential_reaches_the_access_report(svc, monkeypatch):
    """A token checked by a worker is a use of it, recorded with the answer its request
    got; the worker then trusts it for a few seconds (a use is not a write per request)
    and writes uses in the background, never while a request waits."""
    import falcon.testing

    from craton.api import create_app
    from craton.compliance.access_log import CredentialUses

    monkeypatch.setattr(CredentialUses, "interval", 3600.0)  # before its thread starts
    client = falcon.testing.TestClient(create_app(svc))
    root = Caller(client, {"Authorization": f"Bearer {create_root(svc)}"})
    fleet = build_fleet(root)
    member = user_caller(root, fleet["pid"], "member", "mia")
    ok(root.get("/v1/reports/access"))
    written = _uses(svc)
    ok(member.get("/v1/hosts"))
    ok(member.get("/v1/hosts"))  # within the cache's few seconds: the same use
    assert _uses(svc) == written  # not yet: the request did not wait for it
    report = ok(root.get("/v1/reports/access"))  # which writes this worker's uses first
    assert [u for u in _uses(svc) if u not in written] == [
        ("root", 200, "allowed"), ("mia", 200, "allowed")]  # root: once users changed
    users = next(t for t in report["tables"] if t["name"] == "users")
    row = dict(zip(users["columns"], next(r for r in users["rows"] if "mia" in r),
                   strict=True))
    assert row["token_uses_in_window"] == 1 and row["last_used_at"]


def test_a_refused_or_missed_request_is_recorded_as_it_was_answered(svc, root, fleet):
    auditor = user_caller(root, fleet["pid"], "auditor", "audrey")
    assert auditor.post("/v1/clouds", json={"name": "x"}).status_code == 403
    nobody = user_caller(root, fleet["pid"], "member", "nemo")
    assert nobody.get("/v1/hosts/999999").status_code == 404
    ok(root.get("/v1/reports/access"))
    mine = [u for u in _uses(svc) if u[0] in ("audrey", "nemo")]
    assert mine == [("audrey", 403, "denied"), ("nemo", 404, "allowed")]
