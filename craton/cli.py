"""The ``craton`` command: serve, initialise, replay, verify, and more.

Errors print one readable line and exit non-zero; never a stack trace.
"""

from __future__ import annotations

import argparse
import importlib
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from craton.domain.errors import DomainError, InvalidInput
from craton.settings import Settings

Command = Callable[[argparse.Namespace, Settings], int]
COMMANDS: dict[str, tuple[Command, str, Callable[[argparse.ArgumentParser], None]]] = {}


def command(name: str, help: str,
            args: Callable[[argparse.ArgumentParser], None] = lambda p: None
            ) -> Callable[[Command], Command]:
    def register(fn: Command) -> Command:
        COMMANDS[name] = (fn, help, args)
        return fn
    return register


def _services(settings: Settings, *, create: bool = False) -> Any:
    """The services over the configured database.

    Unless ``create``, the database must hold a Craton ledger already: a mistyped
    URL would otherwise become a new, empty ledger (or one written into another
    application's database) that every read-only command reports on as if it
    were the fleet. Such a command writes nothing; it refuses in one line.
    """
    from craton.bootstrap import bootstrap, check_signing_key

    check_signing_key(settings)  # a setting the process cannot work with stops it first
    check_read_url(settings, create=create)
    if create:
        return bootstrap(settings)
    url = settings.database_url
    missing = missing_sqlite_file(url)
    if missing is not None:
        raise InvalidInput(f"no database at {missing}: "
                           "craton init or craton serve creates one")
    path = sqlite_file(url)
    if path is not None and not _sqlite_has_ledger(path):
        _no_ledger(url)  # (looked at read-only: Craton's own connections turn on WAL)
    svc = bootstrap(settings, init=False)
    if path is None and not has_ledger(svc.db):
        svc.close()
        _no_ledger(url)
    return svc


def _no_ledger(url: str) -> None:
    raise InvalidInput(f"no Craton ledger at {shown_url(url)} (craton init creates one)")


def has_ledger(db: Any) -> bool:
    """Whether the database holds Craton's event table."""
    from sqlalchemy import inspect

    from craton.db import EVENTS_TABLE

    with db.engine.connect() as conn:
        return inspect(conn).has_table(EVENTS_TABLE)


def _sqlite_has_ledger(path: str) -> bool:
    """Whether the SQLite file holds Craton's event table, opened read-only."""
    from contextlib import closing

    from craton.db import EVENTS_TABLE

    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                            "AND name = ?", (EVENTS_TABLE,)).fetchone() is not None


def shown_url(url: str) -> str:
    """A database URL as it may be printed: without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def check_read_url(settings: Settings, *, create: bool) -> None:
    """``CRATON_READ_DATABASE_URL``, when set, names an existing database of the kind
    ``CRATON_DATABASE_URL`` names (a replica of it); nothing creates one."""
    from craton.db import check_read_url as same_kind

    read_url = settings.read_database_url
    if read_url is None:
        return
    same_kind(settings.database_url, read_url)
    missing = missing_sqlite_file(read_url)
    if missing is None or (create and missing == missing_sqlite_file(settings.database_url)):
        return
    raise InvalidInput(f"no database at {missing} (CRATON_READ_DATABASE_URL): "
                       "it names a replica of CRATON_DATABASE_URL, which nothing creates")


def project_id(svc: Any, given: str, *, current: bool = True) -> str:
    """A project's id as stored, from how an operator spelt it; InvalidInput if it is
    no UUID or names no project (``current``: no project that exists now; else none
    that ever did, so a deleted project's past stays reportable)."""
    from sqlalchemy import select

    from craton.projections.listing import project_uuid
    from craton.projections.tables import LIVE

    stored = project_uuid(given)
    if stored is None:
        raise InvalidInput(f"{given!r} is not a project id (a UUID)")
    t = LIVE.resources
    query = select(t.c.id).where(t.c.uuid == stored, t.c.kind == "project")
    if current:
        query = query.where(t.c.valid_to.is_(None))
    with svc.db.reading() as conn:
        found = conn.execute(query.limit(1)).first()
    if found is None:
        raise InvalidInput(f"no project {stored}")
    return stored


def sqlite_file(url: str) -> str | None:
    """The path of the SQLite database file a URL names, else None (not SQLite, in
    memory, or a ``file:`` URI)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    path = parsed.database
    if not parsed.drivername.startswith("sqlite") or not path or path == ":memory:" \
            or path.startswith("file:"):
        return None
    return path


def missing_sqlite_file(url: str) -> str | None:
    """The path of an SQLite database file the URL names that does not exist, else None."""
    path = sqlite_file(url)
    return None if path is None or Path(path).exists() else path


@command("init", "create the schema (once, before several processes start)")
def _init(args: argparse.Namespace, settings: Settings) -> int:
    from craton.bootstrap import bootstrap
    from craton.schema import initialise

    svc = bootstrap(settings, init=False)
    created = initialise(svc.db, svc.ledger)
    print("schema created" if created else "schema already present")
    rebuild_if_needed(svc)
    return 0


def rebuild_if_needed(svc: Any, patience: float = 3600.0) -> None:
    """A read-model shape from another version is rebuilt from the log, not migrated.

    Where another process is rebuilding them already (a second server started
    with the same new version), this one waits for it, up to ``patience``
    seconds, and rebuilds only if they still need it then.
    """
    import time

    from craton import replay

    told, deadline = False, time.monotonic() + patience
    while replay.needs_rebuild(svc):
        if not told:
            print("read models are from another schema version: rebuilding from the log",
                  file=sys.stderr)
        try:
            result = replay.rebuild(svc)
        except replay.ReplayRunning:
            if time.monotonic() >= deadline:
                raise
            if not told:
                print("another process is rebuilding them: waiting for it", file=sys.stderr)
            told = True
            time.sleep(0.5)
            continue
        print(f"rebuilt read models from {result.events:,} events", file=sys.stderr)
        return


def _positive(text: str) -> int:
    """A whole number of at least one (argparse's type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def public_key_arg(p: argparse.ArgumentParser) -> None:
    """``--public-key``: a key the signatures of saved digests may be checked against."""
    p.add_argument("--public-key", action="append", default=[], type=Path, metavar="PEM",
                   help="a public key (PEM) that may have signed a saved digest, such as "
                   "one retired by a key rotation; repeatable (CRATON_SIGNING_KEY's is "
                   "trusted too)")


def _replay_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--verify", action="store_true",
                   help="rebuild into scratch tables and compare with the live read models")
    p.add_argument("--batch-size", type=_positive, default=5000)
    p.add_argument("--workers", type=_positive, default=None,
                   help="processes projecting the log (default: one per core, at most 4 on "
                   "PostgreSQL and 2 on SQLite)")


@command("replay", "rebuild every read model from the event log", _replay_args)
def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from craton import replay

    svc = _services(settings)
    if args.verify:
        result = replay.verify(svc, batch_size=args.batch_size, workers=args.workers)
        for line in result.differences:
            print(line)
        print(f"replayed {result.events:,} events in {result.seconds:.1f}s: "
              f"{result.difference_count:,} differences")
        return 1 if result.difference_count else 0
    result = replay.rebuild(svc, batch_size=args.batch_size, workers=args.workers)
    print(f"rebuilt read models from {result.events:,} events in {result.seconds:.1f}s "
          f"({result.workers} process{'es' if result.workers > 1 else ''}, "
          f"peak memory {result.peak_mib:,.0f} MiB)")
    return 0


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--hosts-per-cell", type=_positive, default=40)


@command("demo", "load the seeded demo fleet into an empty database", _demo_args)
def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from craton.demo import load_demo

    svc = _services(settings, create=True)
    summary = load_demo(svc.ledger, seed=args.seed, hosts_per_cell=args.hosts_per_cell)
    print(f"demo fleet: {summary['hosts']} hosts, {summary['instances']} instances "
          f"in project {summary['project']['uuid']}")
    return 0


# Modules whose @command functions join the CLI.
COMMAND_MODULES = ("craton.commands", "craton.compliance.cli", "craton.planning.cli",
                   "craton.flows.cli")


def build_parser() -> argparse.ArgumentParser:
    for module in COMMAND_MODULES:
        importlib.import_module(module)

    parser = argparse.ArgumentParser(prog="craton", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="overrides CRATON_DATABASE_URL")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_fn, help_text, add_args) in COMMANDS.items():
        add_args(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as exc:  # a malformed CRATON_* variable
        print(f"craton: {exc}", file=sys.stderr)
        return 2
    if args.database_url:
        from dataclasses import replace

        settings = replace(settings, database_url=args.database_url)
    fn = COMMANDS[args.command][0]
    try:
        status = fn(args, settings)
        sys.stdout.flush()  # a reader gone by now is found here, not at exit
        return status
    except BrokenPipeError:
        return stdout_closed()
    except DomainError as exc:
        print(f"craton: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one line for the operator, never a traceback
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"craton: {type(exc).__name__}: {first}", file=sys.stderr)
        return 1


def stdout_closed() -> int:
    """The reader of stdout went away (``craton runs show 7 | head``): stop quietly with
    the status ``cat`` and ``ls`` end with there (killed by SIGPIPE: 128 + 13), and
    write nothing more to the closed pipe."""
    import os
    import signal

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush goes here
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return 128 + signal.SIGPIPE

if __name__ == "__main__":  # run as a script: use the module the commands register into
    from craton.cli import main as installed_main

    sys.exit(installed_main())
