"""A signing key that cannot sign stops a process at its start (and never makes the API
answer 500); digests signed before a key rotation stay verifiable with the old public key."""

from __future__ import annotations

import json
import socket
from dataclasses import replace
from pathlib import Path

import falcon.testing
import pytest

from craton.api.app import create_app
from craton.api.auth import create_root
from craton.api.compliance import compliance_routes
from craton.api.context import Api
from craton.cli import main
from craton.ledger.signing import generate_key, key_id, public_key_path
from craton.proofs import current_digest


def garbage(tmp_path: Path) -> Path:
    path = tmp_path / "bad.pem"
    path.write_text("garbage\n")
    return path


def public_only(tmp_path: Path) -> Path:
    generate_key(tmp_path / "k.pem")
    return public_key_path(tmp_path / "k.pem")


def missing(tmp_path: Path) -> Path:
    return tmp_path / "nowhere.pem"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(("make", "said"), [
    (garbage, "is not an unencrypted Ed25519 private key in PEM"),
    (public_only, "it holds a public key (digests are checked with one by --public-key)"),
    (missing, "cannot be read: No such file or directory")])
def test_serve_and_digest_refuse_a_key_that_cannot_sign_before_touching_the_database(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        make, said: str) -> None:
    key = make(tmp_path)
    monkeypatch.setenv("CRATON_SIGNING_KEY", str(key))
    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert main(["--database-url", url, "serve", "--bind", f"127.0.0.1:{free_port()}"]) == 2
    assert main(["--database-url", url, "digest"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2 and errors[0] == errors[1]
    assert errors[0].startswith(f"craton: CRATON_SIGNING_KEY {key} ") and said in errors[0]
    assert not (tmp_path / "c.db").exists()


def test_a_key_that_goes_bad_while_serving_gives_a_503_not_a_500(
        memory_history, tmp_path: Path) -> None:
    svc, _ = memory_history
    key = tmp_path / "signing.pem"
    generate_key(key)
    svc.settings = replace(svc.settings, signing_key=key)
    app = create_app(svc)
    token = create_root(svc)
    client = falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {token}"})
    if client.simulate_get("/v1/ledger/digest").status_code == 404:
        for path, resource in compliance_routes(Api(svc)):
            app.add_route(path, resource)
    assert client.simulate_get("/v1/ledger/digest").json["signature"]
    key.write_text("garbage\n")
    got = client.simulate_get("/v1/ledger/digest")
    assert got.status_code == 503
    assert got.json["message"] == (f"CRATON_SIGNING_KEY {key} is not an unencrypted "
                                   "Ed25519 private key in PEM")


def test_a_digest_signed_before_a_rotation_verifies_with_the_old_public_key(
        history, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    svc, _ = history
    old, new = tmp_path / "old.pem", tmp_path / "new.pem"
    old_id = key_id(generate_key(old))
    generate_key(new)
    svc.settings = replace(svc.settings, signing_key=old)
    saved = tmp_path / "before-rotation.json"
    saved.write_text(current_digest(svc).to_json())
    monkeypatch.setenv("CRATON_SIGNING_KEY", str(new))
    url = svc.db.url
    verify = ["--database-url", url, "verify", "--digest", str(saved)]
    assert main(verify) == 2
    assert "its signature does not verify with the configured signing key" \
        in capsys.readouterr().err
    assert main([*verify, "--public-key", str(public_key_path(old))]) == 0
    assert f"(signature valid, {old_id})" in capsys.readouterr().out
    pack = tmp_path / "p.tar.gz"
    assert main(["--database-url", url, "evidence", "--from", "@10", "--digest", str(saved),
                 "--public-key", str(public_key_path(old)), "-o", str(pack)]) == 0
    assert f"(signature valid, {old_id})" in capsys.readouterr().out and pack.exists()
    monkeypatch.delenv("CRATON_SIGNING_KEY")
    other = tmp_path / "other.pem"
    other_id = key_id(generate_key(other))
    assert main([*verify, "--public-key", str(public_key_path(other))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("craton: the digest saved at") and err.count("\n") == 1
    assert f"does not verify with the key {other_id} (it names the key {old_id})" in err
    assert main([*verify, "--public-key", str(garbage(tmp_path))]) == 2
    assert capsys.readouterr().err == (f"craton: --public-key {tmp_path / 'bad.pem'} is not "
                                       "an Ed25519 public key in PEM\n")
    assert json.loads(saved.read_text())["key_id"] == old_id
