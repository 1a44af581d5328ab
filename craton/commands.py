"""CLI commands beyond the core ones: serving, tokens, the ledger's proofs."""

from __future__ import annotations

import argparse
import json
import socket
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from craton.cli import _positive, _services, command, public_key_arg, rebuild_if_needed
from craton.domain.errors import InvalidInput
from craton.settings import Settings

if TYPE_CHECKING:
    from craton.bootstrap import Services


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bind", help="HOST:PORT (CRATON_BIND, default 127.0.0.1:8000)")
    p.add_argument("--workers", type=_positive, help="gunicorn workers (CRATON_WORKERS)")
    p.add_argument("--demo", dest="demo", action="store_true", default=True,
                   help="load the demo fleet into an empty database (default)")
    p.add_argument("--no-demo", dest="demo", action="store_false")


def seed(svc: Services, token: str | None, demo: bool) -> str | None:
    """What ``serve`` puts in the database first: into an empty one, the demo fleet
    (asked), then the root user (with ``token``, else a new token, returned). The demo
    comes first: its weeks of history are stamped before the root user's now."""
    from craton.api.auth import create_root, ensure_root
    from craton.demo import load_demo
    from craton.projections.timeline import head

    with svc.db.reading() as conn:
        empty = head(conn) == 0
    if empty and demo:
        print("loading the demo fleet (a few seconds)...", file=sys.stderr)
        summary = load_demo(svc.ledger)
        print(f"demo fleet: {summary['hosts']} hosts, {summary['instances']} instances")
    if token:
        ensure_root(svc, token)
    elif empty:
        token = create_root(svc)
    return token


def check_bind(bind: str) -> None:
    """``HOST:PORT`` with a port gunicorn can listen on and nothing else holds (or
    ``unix:PATH``), checked before the database is touched and the URL is announced."""
    if bind.startswith("unix:"):
        return
    host, sep, port_text = bind.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InvalidInput(f"bind address must be HOST:PORT with a port from 1 to 65535, "
                           f"not {bind!r}")
    host = host.strip("[]")  # an IPv6 address is bracketed
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, int(port_text)))
        except OSError as exc:
            raise InvalidInput(f"cannot listen on {bind}: {exc.strerror or exc}") from None


@command("serve", "serve the REST API with gunicorn", _serve_args)
def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from craton.api.server import serve

    settings = replace(settings, bind=args.bind or settings.bind,
                       workers=args.workers or settings.workers)
    check_bind(settings.bind)
    if settings.workers < 1:
        raise InvalidInput(f"CRATON_WORKERS must be at least 1, not {settings.workers}")
    svc = _services(settings, create=True)
    rebuild_if_needed(svc)
    token = seed(svc, settings.root_token, args.demo)
    svc.close()
    url = f"http://{settings.bind}"
    services_factory = partial(_services, settings)
    worker = None
    if settings.database_url.startswith("sqlite") and not settings.transport_url:
        from craton.flows.worker import start_inprocess_worker  # one process: flows run here

        worker = start_inprocess_worker(_services(settings))
        print("a workflow worker runs in this process")
    print(f"\nCraton is serving on {url}/v1")
    if token:
        print(f"root token: {token}\n")
        auth = f"-H 'Authorization: Bearer {token}'"
        print("try:")
        print(f"  curl -s {auth} '{url}/v1/hosts?limit=5'")
        print(f"  curl -s {auth} '{url}/v1/events?limit=5'")
        print(f"  curl -s {auth} '{url}/v1/diff?from=@1&to=@400'")
    sys.stdout.flush()
    try:
        serve(settings, services_factory)
    finally:
        if worker is not None:
            worker.stop()
    return 0


@command("root-token", "create a root user (if needed) and print a new token for it")
def _root_token(args: argparse.Namespace, settings: Settings) -> int:
    from craton.api.auth import create_root

    print(create_root(_services(settings, create=True)))
    return 0


def _verify_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--digest", action="append", default=[], type=Path,
                   help="a saved digest (JSON) to check the log against; repeatable")
    public_key_arg(p)


@command("verify", "recompute the hash chain and report the first tampered position",
         _verify_args)
def _verify(args: argparse.Namespace, settings: Settings) -> int:
    from craton.ledger.digest import read_digest
    from craton.proofs import verify_ledger

    digests = [read_digest(p) for p in args.digest]
    report = verify_ledger(_services(settings), digests, args.public_key)
    print(report.message)
    return 0 if report.ok else 1


def _digest_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", type=Path, help="write the digest to this file")


@command("digest", "print the chain head (position, hash, time), signed when a key is set",
         _digest_args)
def _digest(args: argparse.Namespace, settings: Settings) -> int:
    from craton.proofs import current_digest

    digest = current_digest(_services(settings))
    text = json.dumps(digest.to_dict(), indent=2, sort_keys=True)
    if args.output:
        args.output.write_text(text + "\n")
    print(text)
    return 0


def _import_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, help="a JSON document of resources keyed by plural")
    p.add_argument("--project", required=True, help="the project (UUID) to import into")
    p.add_argument("--reason", help="why (stored on every event)")
    p.add_argument("--batch-size", type=int, default=1000)


@command("import", "bulk-import an inventory document, all or nothing", _import_args)
def _import(args: argparse.Namespace, settings: Settings) -> int:
    from craton.codec import parse_client_json
    from craton.domain.meta import Meta
    from craton.importer import import_fleet

    try:
        text = args.file.read_text()
    except (OSError, ValueError) as exc:  # (UnicodeDecodeError is a ValueError)
        print(f"craton: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    try:
        document = parse_client_json(text)
    except ValueError as exc:
        print(f"craton: {args.file} is not a JSON document Craton can store: {exc}",
              file=sys.stderr)
        return 2
    meta = Meta(actor_id=None, actor_name="import", source="import",
                project_id=args.project, reason=args.reason)
    counts = import_fleet(_services(settings).ledger, meta, document, args.batch_size)
    print(", ".join(f"{n:,} {plural}" for plural, n in counts.items()) or "nothing to import")
    return 0
