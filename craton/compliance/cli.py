"""CLI commands for compliance: reports, evidence packs and the signing key."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from craton.cli import _services, command, project_id, public_key_arg
from craton.domain.errors import InvalidInput
from craton.settings import Settings


def _window_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="start", metavar="MOMENT",
                   help="RFC 3339 time (events at or after it) or @POSITION (events after it)")
    p.add_argument("--to", dest="end", metavar="MOMENT",
                   help="RFC 3339 time or @POSITION (inclusive); default: now")


def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="the report; omit it to list the installed reports")
    _window_args(p)
    p.add_argument("--project", help="one project's UUID (default: the whole fleet)")
    p.add_argument("--format", choices=("json", "csv", "html"), default="json")
    p.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")


@command("report", "compute a report over a window, as JSON, CSV or HTML", _report_args)
def _report(args: argparse.Namespace, settings: Settings) -> int:
    from craton.reports.registry import get_report, load_reports, run_report
    from craton.reports.render import render

    reports = load_reports(settings)
    if not args.name and (args.start or args.end or args.project or args.output):
        raise InvalidInput("name the report to compute (craton report lists them)")
    if not args.name:
        for name, report in reports.items():
            print(f"{name:20} {report.description}")
        return 0
    report = get_report(args.name, reports=reports)
    svc = _services(settings)
    try:
        project = None if args.project is None else project_id(svc, args.project,
                                                                current=False)
        with svc.db.reading() as conn:
            data = run_report(conn, report, args.start, args.end, project)
    finally:
        svc.close()
    text = render(data, args.format)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"{args.name}: written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _evidence_args(p: argparse.ArgumentParser) -> None:
    _window_args(p)
    p.add_argument("-o", "--output", type=Path, required=True, help="the archive (.tar.gz)")
    p.add_argument("--digest", action="append", default=[], type=Path,
                   help="a saved digest (JSON) the period must still match; repeatable")
    public_key_arg(p)
    p.add_argument("--allow-tampered", action="store_true",
                   help="write the pack even when the events fail verification")


@command("evidence", "write an evidence pack: events, signed digests, reports, verifier",
         _evidence_args)
def _evidence(args: argparse.Namespace, settings: Settings) -> int:
    from craton.compliance.evidence import build_evidence
    from craton.ledger.digest import read_digest

    digests = [read_digest(p) for p in args.digest]
    svc = _services(settings)
    try:
        result = build_evidence(svc, args.output, args.start, args.end, digests,
                                allow_tampered=args.allow_tampered,
                                public_keys=args.public_key)
    finally:
        svc.close()
    signed = "signed" if result.end.signature else "unsigned (no CRATON_SIGNING_KEY)"
    print(f"evidence pack {result.path}: {result.events} event(s) after position "
          f"{result.start.position} up to {result.end.position}; digests {signed}")
    if args.digest and result.check.ok:
        print(result.check.message)
    if not result.check.ok:
        print(f"craton: the period fails verification: {result.check.message}",
              file=sys.stderr)
        return 1
    return 0


def _key_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", type=Path, help="where to write the private key (PEM, mode 0600)")


@command("signing-key", "create an Ed25519 key for signing digests (CRATON_SIGNING_KEY)",
         _key_args)
def _signing_key(args: argparse.Namespace, settings: Settings) -> int:
    from craton.ledger.signing import generate_key, key_id, public_key_path

    key = generate_key(args.path)
    print(f"private key {args.path} ({key_id(key)}); public key {public_key_path(args.path)}")
    print(f"set CRATON_SIGNING_KEY={args.path.resolve()}")
    return 0
