"""``python -m bench [--quick] [--database sqlite|postgres|both]``: run, then write the docs."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from typing import Any

from bench import fig_core, fig_import, machine, report
from bench.config import sizes as sizes_for
from bench.model import Run


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="sizes ten times smaller")
    p.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--figures", default="1,2,3,4,5,6,7,8",
                   help="comma-separated figure numbers to run (default: all)")
    p.add_argument("--no-planner", action="store_true", help="skip the planner benchmark")
    p.add_argument("--planner-only", action="store_true")
    p.add_argument("--growth", type=_sizes, default=None, metavar="N,N,...",
                   help="log sizes of the growth series (default 100000,300000,1000000; "
                        "10000000 takes about 40 minutes more per database)")
    p.add_argument("--growth-only", action="store_true",
                   help="measure only the growth series (no figures, no planner)")
    p.add_argument("--report-only", action="store_true",
                   help="rewrite docs/benchmarks.md from docs/benchmarks.json, measure nothing")
    return p.parse_args(argv)


def _sizes(text: str) -> tuple[int, ...]:
    try:
        found = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not found or found[0] < 1000:
        raise argparse.ArgumentTypeError("log sizes are numbers of events, 1000 or more")
    return found


def run_database(kind: str, quick: bool, only: set[int],
                 growth: tuple[int, ...] | None = None, growth_only: bool = False) -> Run:
    from dataclasses import asdict, replace

    sizes = sizes_for(quick)
    if growth:
        sizes = replace(sizes, growth=growth)
    run = Run(database=kind, quick=quick,
              started=datetime.now(UTC).isoformat(timespec="seconds"),
              sizes={k: v for k, v in asdict(sizes).items() if not k.startswith("planner")})
    run.server = f"PostgreSQL {machine_pg()}" if kind == "postgres" else "SQLite (WAL file)"
    run.code = machine.code_state()
    began = time.perf_counter()
    log(f"== {kind}{' (quick)' if quick else ''}")
    if growth_only:
        from bench.logbuild import ensure_logs

        logs = ensure_logs(kind, list(sizes.growth), sizes.log_hosts, sizes.log_instances, log)
        fig_core.growth(run, logs, sizes, log)
        run.seconds = time.perf_counter() - began
        log(f"== {kind} growth series done in {run.seconds:.0f} s")
        return run
    import_db = None
    if 3 in only or only & {1, 2}:
        def step() -> Any:
            nonlocal import_db
            fig, import_db = fig_import.measure(kind, sizes, log)
            return fig
        if 3 in only:
            fig_core.guarded(run, 3, step, log)
    if only & {4, 6, 7, 8}:
        fig_core.measure(run, kind, sizes, log, only)
    if only & {1, 2, 5, 8}:
        from bench import fig_http

        fig_http.measure(run, kind, sizes, log, only, import_db)
    run.seconds = time.perf_counter() - began
    log(f"== {kind} done in {run.seconds:.0f} s")
    return run


def machine_pg() -> str:
    try:
        from bench.databases import pg_version

        return pg_version()
    except Exception:  # no server: the SQLite run still goes ahead
        return "unreachable"


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.report_only:
        stored = report.load()
        report.save(stored.get("machine") or machine.describe(machine_pg()), {}, None)
        log(f"wrote {report.MD_PATH} from {report.JSON_PATH}")
        return 0
    only = {int(x) for x in args.figures.split(",") if x.strip()}
    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    runs: dict[str, dict[str, Any]] = {}
    planner = None
    if not args.planner_only:
        for kind in kinds:
            run = run_database(kind, args.quick, only, args.growth, args.growth_only)
            runs[kind] = run.as_json()
            report.save(machine.describe(machine_pg()), runs, None)
    if not (args.no_planner or args.growth_only):
        from bench import planner as planner_bench

        planner = planner_bench.measure(sizes_for(args.quick), log)
    report.save(machine.describe(machine_pg()), runs, planner)
    log(f"wrote {report.MD_PATH} and {report.JSON_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
