"""The ``craton`` command: serve, initialise, replay, verify, and more.

Errors print one readable line and exit non-zero; never a stack trace.
"""

from __future__ import annotations

import argparse
import importlib
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


def _services(settings: Settings, init: bool = True, *, create: bool = False) -> Any:
    """The services over the configured database; unless ``create``, an SQLite file
    that is not there is an error (a mistyped path would otherwise become a new,
    empty database that every read-only command reports on as if it were the fleet)."""
    from craton.bootstrap import bootstrap

    if not create:
        missing = missing_sqlite_file(settings.database_url)
        if missing is not None:
            raise InvalidInput(f"no database at {missing}: "
                               "craton init or craton serve creates one")
    return bootstrap(settings, init=init)


def missing_sqlite_file(url: str) -> str | None:
    """The path of an SQLite database file the URL names that does not exist, else None."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    path = parsed.database
    if not parsed.drivername.startswith("sqlite") or not path or path == ":memory:" \
            or path.startswith("file:"):
        return None
    return None if Path(path).exists() else path


@command("init", "create the schema (once, before several processes start)")
def _init(args: argparse.Namespace, settings: Settings) -> int:
    from craton.bootstrap import bootstrap
    from craton.schema import initialise

    svc = bootstrap(settings, init=False)
    created = initialise(svc.db, svc.ledger)
    print("schema created" if created else "schema already present")
    rebuild_if_needed(svc)
    return 0


def rebuild_if_needed(svc: Any) -> None:
    """A read-model shape from another version is rebuilt from the log, not migrated."""
    from craton import replay

    if replay.needs_rebuild(svc):
        print("read models are from another schema version: rebuilding from the log",
              file=sys.stderr)
        result = replay.rebuild(svc)
        print(f"rebuilt read models from {result.events:,} events", file=sys.stderr)


def _positive(text: str) -> int:
    """A whole number of at least one (argparse's type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


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
              f"{len(result.differences)} differences")
        return 1 if result.differences else 0
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
        return fn(args, settings)
    except DomainError as exc:
        print(f"craton: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one line for the operator, never a traceback
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"craton: {type(exc).__name__}: {first}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # run as a script: use the module the commands register into
    from craton.cli import main as installed_main

    sys.exit(installed_main())
