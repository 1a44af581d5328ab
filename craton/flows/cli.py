"""CLI commands for workflows: ``craton run``, ``craton runs show``, ``craton worker``."""

from __future__ import annotations

import argparse
import getpass
import json
import signal
import sys
import threading
import time
from typing import Any

from craton.cli import _services, command, project_id
from craton.domain.errors import InvalidInput
from craton.domain.meta import Meta
from craton.settings import Settings


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``k=v`` pairs; values are JSON when they parse (ids, lists), else strings."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"a parameter is key=value, not {pair!r}")
        out[key] = _value(value)
    return out


def _project(svc: Any, given: str | None) -> str:
    from sqlalchemy import select

    from craton.projections.tables import LIVE

    if given:
        return project_id(svc, given)
    t = LIVE.resources
    with svc.db.reading() as conn:
        uuids = conn.execute(select(t.c.uuid).where(
            t.c.kind == "project", t.c.valid_to.is_(None))).scalars().all()
    if len(uuids) != 1:
        raise InvalidInput("name the project with --project (there is not exactly one)")
    return str(uuids[0])


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("workflow", help="audit, evacuate, execute-plan, ...")
    p.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--project", help="project uuid (default: the only project)")
    p.add_argument("--reason", help="why the run is made (a change ticket, say)")
    p.add_argument("--no-wait", action="store_true", help="print the run id and return")


@command("run", "request a workflow run and follow its progress", _run_args)
def _run(args: argparse.Namespace, settings: Settings) -> int:
    from craton.flows import service

    svc = _services(settings)
    meta = Meta(actor_id=None, actor_name=getpass.getuser() or "cli", source="cli",
                project_id=_project(svc, args.project), reason=args.reason)
    run = service.request_run(svc, meta, args.workflow, parse_params(args.param))
    print(run["id"])
    sys.stdout.flush()
    if args.no_wait:
        return 0
    return follow(svc, run["id"])


WAITING_HINT_AFTER = 10.0  # seconds a run may wait for a worker before the CLI says so


def follow(svc: Any, run_id: int, poll: float = 0.5,
           hint_after: float = WAITING_HINT_AFTER) -> int:
    """Print each step transition as it is recorded, until the run ends; say once if
    the run is still waiting for a worker after ``hint_after`` seconds."""
    from craton.flows import service

    seen = 0
    started, hinted = time.monotonic(), False
    while True:
        run = service.get_run(svc, run_id, None)
        if run["state"] == "requested" and not hinted \
                and time.monotonic() - started >= hint_after:
            print(f"run {run_id} is waiting for a worker: start one with craton worker "
                  "(craton serve runs one itself on SQLite); Ctrl-C stops following, "
                  "not the run", file=sys.stderr)
            hinted = True
        transitions = sorted(
            ((t["position"], s["name"], t) for s in run["steps"] for t in s["transitions"]),
            key=lambda x: x[0])
        for _, name, t in transitions[seen:]:
            error = f"  {t['error']}" if t.get("error") else ""
            print(f"{t['time']}  {name:<40} {t['state']:<10} #{t['attempt']}{error}")
        seen = len(transitions)
        if run["state"] in ("succeeded", "failed", "cancelled"):
            print(f"run {run_id}: {run['state']}; {len(run['handovers'])} handed over, "
                  f"{len(run['skipped'])} skipped, {len(run['failed_steps'])} failed steps")
            return 0 if run["state"] == "succeeded" else 1
        time.sleep(poll)


def _show_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["show"])
    p.add_argument("id", type=int)


@command("runs", "show a workflow run with every step", _show_args)
def _runs(args: argparse.Namespace, settings: Settings) -> int:
    from craton.flows import service

    print(json.dumps(service.get_run(_services(settings), args.id, None), indent=2))
    return 0


def _worker_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--once", action="store_true", help="run what is waiting, then exit")
    p.add_argument("--executor", action="store_true",
                   help="execute tasks sent over CRATON_TRANSPORT_URL (remote engine)")
    p.add_argument("--lease", type=_seconds, default=30.0, help="lease seconds on a run")
    p.add_argument("--poll", type=_seconds, default=1.0,
                   help="seconds between looks for requested runs")


MOST_SECONDS = 86_400.0  # a lease or a poll of more than a day is a typo


def _seconds(text: str) -> float:
    """A number of seconds above zero, at most a day (argparse's type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= MOST_SECONDS:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(
            f"must be more than 0 and at most {MOST_SECONDS:,.0f} seconds, not {text}")
    return value


@command("worker", "claim and execute workflow runs", _worker_args)
def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from craton.flows.remote import engine_settings, serve_executor
    from craton.flows.worker import Worker

    svc = _services(settings)
    if args.executor:
        if not settings.transport_url:
            raise InvalidInput("--executor needs CRATON_TRANSPORT_URL")
        serve_executor(svc, settings.transport_url)
        return 0
    engine, options = engine_settings(settings.transport_url)
    worker = Worker(svc, lease_seconds=args.lease, engine=engine, engine_options=options)
    if args.once:
        while worker.run_once() is not None:
            pass
        return 0
    stop = threading.Event()

    def stopping(signum: int, _frame: Any) -> None:
        """The first SIGTERM or Ctrl-C stops the worker after the step under way;
        a second Ctrl-C stops it at once (the run resumes elsewhere after its lease)."""
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()
        print(f"worker {worker.name} stopping after the step under way "
              "(Ctrl-C again to stop at once)", file=sys.stderr)

    signal.signal(signal.SIGTERM, stopping)
    signal.signal(signal.SIGINT, stopping)
    print(f"worker {worker.name} waiting for runs", file=sys.stderr)
    worker.serve(stop, args.poll)
    return 0
