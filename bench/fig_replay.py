"""Figure 4 (and the replay half of 8): ``scripts/replay.py`` against reading the log.

The replay runs as its own process so its peak memory is its own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

from eventsourcing.persistence import StoredEvent

from bench.config import ROOT
from bench.databases import Scratch
from bench.runner import run_runner
from bench.stats import now
from craton.bootstrap import bootstrap
from craton.db import EVENTS_TABLE
from craton.replay import _uuid, stored_batches
from craton.settings import Settings


def warm_log(db: Scratch) -> None:
    """Read every stored event's bytes once, untimed, so the replay and the read
    baseline both start with the log in the operating system's cache (a read
    timed just after a replay had written 1.4 GB took 17 s, the same read warm 11)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db.url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f"SELECT count(*), sum(length(state)) FROM {EVENTS_TABLE}"))
    finally:
        engine.dispose()


def replay(db: Scratch) -> dict[str, Any]:
    """Run ``scripts/replay.py`` on a database: seconds, peak MiB, events.

    The replay chooses its worker processes itself; the peak it reports is its
    own plus each worker's (pages a worker shares with its parent after the
    fork are counted in both, so with workers it is an upper bound).
    """
    env = {**os.environ, "CRATON_DATABASE_URL": db.url, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "bench.child", str(ROOT / "scripts" / "replay.py")]
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True,
                          check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode or not lines:
        raise RuntimeError(f"replay failed: {proc.stderr.strip()[-500:]}")
    result = json.loads(lines[-1])
    said = next((ln for ln in lines if ln.startswith("rebuilt")), "")
    found = re.search(r"(\d+) process(?:es)?, peak memory ([\d,]+) MiB", said)
    if found:
        result["workers"] = int(found.group(1))
        result["peak_mib"] = float(found.group(2).replace(",", ""))
    words = said.split()
    result["events"] = int(words[4].replace(",", "")) if len(words) > 4 else 0
    result["message"] = " ".join(words)
    return result


def read_rate(db: Scratch, batch: int = 5000) -> tuple[float, int]:
    """Seconds to read and decode every stored event, in the replay's batches, in a
    process of its own as the replay runs in (in the suite's process, with the heap
    earlier figures leave, the same read took 15 to 17 s against 11 to 13), with the
    log read once first (``warm_log``)."""
    warm_log(db)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "bench.fig_replay", db.url, str(batch)],
                          env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    lines = proc.stdout.splitlines()
    if proc.returncode or not lines:
        raise RuntimeError(f"the read baseline failed: {proc.stderr.strip()[-500:]}")
    seconds, count = json.loads(lines[-1])
    return float(seconds), int(count)


def _read(url: str, batch: int) -> tuple[float, int]:
    """``read_rate``'s read itself, in this process."""
    svc = bootstrap(Settings(database_url=url), init=False)
    mapper = svc.ledger.mapper
    count = 0
    try:
        start = now()
        with svc.db.engine.connect() as conn:
            for rows in stored_batches(conn, 0, batch):
                for r in rows:
                    mapper.to_domain_event(StoredEvent(
                        originator_id=_uuid(r.originator_id),
                        originator_version=r.originator_version,
                        topic=r.topic, state=bytes(r.state)))
                count += len(rows)
        return now() - start, count
    finally:
        svc.close()


def runner_rate(db: Scratch, events: int) -> tuple[float, str]:
    seconds, done, how = run_runner(db.url, events)
    _drop_runner_tables(db)
    return done / seconds, how


def _drop_runner_tables(db: Scratch) -> None:
    from sqlalchemy import create_engine

    from bench.runner import _tables, drop_tracking

    engine = create_engine(db.url)
    _tables().metadata.drop_all(engine)
    drop_tracking(engine)
    engine.dispose()


def profile_replay(db: Scratch) -> str:
    """``scripts/replay.py`` itself under cProfile, on a whole (smaller) log, in one
    process (the profile of one worker: the writer thread's share is not in it)."""
    import io
    import pstats
    import tempfile

    from bench.profiling import summarise

    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/replay.prof"
        env = {**os.environ, "CRATON_DATABASE_URL": db.url, "PYTHONPATH": str(ROOT)}
        start = now()
        proc = subprocess.run([sys.executable, "-m", "cProfile", "-o", out,
                               str(ROOT / "scripts" / "replay.py"), "--workers", "1"],
                              env=env, cwd=ROOT,
                              capture_output=True, text=True, check=False)
        seconds = now() - start
        if proc.returncode:
            return f"profiling failed: {proc.stderr[-500:]}"
        stats = pstats.Stats(out, stream=io.StringIO())
        return (f"scripts/replay.py on {db.name} under cProfile\n"
                + summarise(stats, seconds, top=22))


if __name__ == "__main__":  # the read baseline's own process (``read_rate``)
    print(json.dumps(_read(sys.argv[1], int(sys.argv[2]))))
