"""Where the time goes: cProfile's top functions and time per SQL statement."""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@contextmanager
def sql_timing() -> Iterator[dict[str, list[float]]]:
    """Count and time every statement any engine runs inside the block, by its shape."""
    stats: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
               many: bool) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
              many: bool) -> None:
        key = " ".join(statement.split()[:6])[:80] + (" [many]" if many else "")
        entry = stats[key]
        entry[0] += 1
        entry[1] += time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    try:
        yield stats
    finally:
        event.remove(Engine, "before_cursor_execute", before)
        event.remove(Engine, "after_cursor_execute", after)


def sql_report(stats: dict[str, list[float]], total: float, top: int = 8) -> str:
    lines = [f"SQL statements ({sum(int(v[0]) for v in stats.values())} executions, "
             f"{sum(v[1] for v in stats.values()):.2f} s of {total:.2f} s):",
             "      s   calls  statement"]
    for key, (calls, secs) in sorted(stats.items(), key=lambda kv: -kv[1][1])[:top]:
        lines.append(f"{secs:7.2f} {int(calls):7d}  {key}")
    return "\n".join(lines)


def profile(fn: Callable[[], Any], top: int = 18, focus: tuple[str, ...] = ("craton",)
            ) -> tuple[str, Any]:
    """Run ``fn`` under cProfile and SQL timing; a readable summary and its result."""
    prof = cProfile.Profile()
    with sql_timing() as stats:
        start = time.perf_counter()
        prof.enable()
        try:
            out = fn()
        finally:
            prof.disable()
        total = time.perf_counter() - start
    ps = pstats.Stats(prof, stream=io.StringIO())
    return summarise(ps, total, top, focus) + "\n\n" + sql_report(stats, total), out


def summarise(ps: pstats.Stats, total: float, top: int = 18,
              focus: tuple[str, ...] = ("craton",)) -> str:
    """The functions that matter, by cumulative and by own time."""
    lines = [f"cProfile, {total:.2f} s wall; functions by cumulative time:",
             "  cum s   own s    calls  function"]
    entries = []
    for (path, line, name), (_cc, calls, own, cum, _callers) in ps.stats.items():  # type: ignore[attr-defined]
        if any(f in path for f in focus) or name in (
                "execute", "executemany", "_exec_insertmany_context"):
            entries.append((cum, own, calls, _where(path, line, name)))
    for cum, own, calls, where in sorted(entries, reverse=True)[:top]:
        lines.append(f"{cum:7.2f} {own:7.2f} {calls:8d}  {where}")
    lines += ["", "functions by own time (any module):", "  own s   cum s    calls  function"]
    owns = sorted(((own, cum, calls, _where(path, line, name))
                   for (path, line, name), (_cc, calls, own, cum, _c)
                   in ps.stats.items()), reverse=True)  # type: ignore[attr-defined]
    for own, cum, calls, where in owns[:10]:
        lines.append(f"{own:7.2f} {cum:7.2f} {calls:8d}  {where}")
    return "\n".join(lines)


def _where(path: str, line: int, name: str) -> str:
    short = path.split("site-packages/")[-1].split("/work/main/")[-1]
    return f"{short}:{line}({name})"
