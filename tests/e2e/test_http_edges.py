"""Over real gunicorn: chunked bodies, HEAD, and the header and request-line limits."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from craton.api.server import LIMIT_REQUEST_FIELD_SIZE, LIMIT_REQUEST_LINE

from .conftest import Server, fleet

pytestmark = pytest.mark.e2e

MAX_BODY = 1024 * 1024  # CRATON_MAX_BODY_BYTES by default


def _chunks(*parts: bytes) -> Iterator[bytes]:
    yield from parts  # requests sends a generator with Transfer-Encoding: chunked


def test_a_chunked_body_is_read_and_one_over_the_limit_is_refused(server: Server):
    made = fleet(server)
    s, url = made["session"], server.url
    json_type = {"Content-Type": "application/json"}
    created = s.post(f"{url}/v1/clouds", data=_chunks(b'{"name":', b' "chunky"}'),
                     headers=json_type)
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "chunky"
    big = b'{"note": "' + b"x" * MAX_BODY + b'"}'
    refused = s.post(f"{url}/v1/clouds", data=_chunks(big[:1000], big[1000:]),
                     headers=json_type)
    assert refused.status_code == 413 and refused.json()["status"] == 413


def test_head_answers_like_get_without_a_body(server: Server):
    made = fleet(server)
    s, url = made["session"], server.url
    for path in ("/v1/hosts", f"/v1/hosts/{made['host']['id']}", "/healthz"):
        got, head = s.get(f"{url}{path}"), s.head(f"{url}{path}")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["Content-Length"] == str(len(got.content))
        assert head.headers.get("ETag") == got.headers.get("ETag")


def test_the_api_answers_long_headers_and_request_lines_in_json(server: Server):
    made = fleet(server)
    s, url = made["session"], server.url
    key = s.post(f"{url}/v1/clouds", json={"name": "k"},
                 headers={"Idempotency-Key": "k" * 10000})
    assert key.status_code == 400 and key.json()["errors"]["Idempotency-Key"]
    line = s.get(f"{url}/v1/hosts", params={"name": "n" * 6000})
    assert line.status_code == 200 and line.json()["hosts"] == []


def _raw(server: Server, request: bytes) -> bytes:
    """One request over a socket (requests would refuse what gunicorn must refuse)."""
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(request)
        return sock.recv(65536)


def test_gunicorn_refuses_only_beyond_its_configured_limits(server: Server):
    header = b"X-Big: " + b"h" * (LIMIT_REQUEST_FIELD_SIZE + 10)
    refused = _raw(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n\r\n")
    assert refused.startswith(b"HTTP/1.1 431")
    target = b"/healthz?q=" + b"q" * LIMIT_REQUEST_LINE
    assert _raw(server, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n").startswith(
        b"HTTP/1.1 400")
