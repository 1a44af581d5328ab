"""Figures 1, 2, 5 and the API half of 8: the HTTP API under gunicorn, against raw baselines."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, select

from bench import fig_core, fig_import
from bench.config import Sizes
from bench.databases import Scratch
from bench.fleet import document
from bench.model import Figure, Measurement, Run, Target
from bench.raw import RawStore, concurrent
from bench.server import Client, Served, craton, trivial
from bench.stats import interleaved, median, now, percentile
from craton.projections.tables import LIVE

CLIENTS = 8
FLOOR_LATENCY = "raw transaction over HTTP, median"
FLOOR_RATE = "raw transaction over HTTP, 8 clients"
READERS = 4  # concurrent clients for the listings: enough to keep 2 workers busy
LISTINGS = {
    "plain": "/v1/hosts?limit=100",
    "vars filter": '/v1/hosts?limit=100&vars=role:"compute"',
    "details": "/v1/hosts?limit=100&details=true",
}


def _inventory(db: Scratch, hosts: int) -> tuple[str, list[int]]:
    """The project's uuid and some host ids of a database."""
    t = LIVE.resources
    engine = create_engine(db.url)
    try:
        with engine.connect() as conn:
            project = conn.execute(select(t.c.uuid).where(
                t.c.kind == "project", t.c.valid_to.is_(None))).scalar()
            ids = list(conn.execute(select(t.c.id).where(
                t.c.kind == "host", t.c.valid_to.is_(None)).order_by(t.c.id).limit(hosts))
                .scalars())
    finally:
        engine.dispose()
    return str(project), [int(i) for i in ids]


def _changer(port: int, project: str, hosts: list[int]) -> Callable[[], Callable[[], None]]:
    """Clients that each PUT a new variable value on hosts of their own, in turn."""
    lock, handed = threading.Lock(), [0]

    def make() -> Callable[[], None]:
        with lock:
            slot = handed[0]
            handed[0] += 1
        client = Client(port, {"X-Auth-Project": project})
        mine = hosts[slot::CLIENTS * 2] or hosts
        state = [0]

        def change() -> None:
            state[0] += 1
            host = mine[state[0] % len(mine)]
            client.ok("PUT", f"/v1/hosts/{host}/variables",
                      {"variables": {"bench_counter": state[0] * 1000 + slot}})
        return change
    return make


def _raw_over_http(port: int) -> Callable[[], Callable[[], None]]:
    """Clients that each PUT a body like a change's to the raw transaction's endpoint."""
    def make() -> Callable[[], None]:
        client = Client(port)
        state = [0]

        def change() -> None:
            state[0] += 1
            client.ok("PUT", "/raw", {"variables": {"bench_counter": state[0]}})
        return change
    return make


def measure(run: Run, kind: str, sizes: Sizes, log: Any, only: set[int],
            import_db: Scratch | None) -> None:
    if only & {1, 2}:
        db = import_db or _import_db(kind, sizes, log)
        first = 1 if 1 in only else 2  # the figure _writes hands back
        fig_core.guarded(run, first, lambda: _writes(run, kind, db, sizes, log, only), log)
    if only & {5, 8}:
        dbs = fig_core.logs(kind, sizes, log)
        fig_core.projected([dbs[sizes.log_events], dbs[sizes.log_events // 10]], log)
        fig_core.guarded(run, 5, lambda: _reads(run, dbs, sizes, log, only), log)


def _import_db(kind: str, sizes: Sizes, log: Any) -> Scratch:
    db = Scratch(kind, fig_import.IMPORT_DB)
    if db.exists():
        return db
    log("  importing a fleet for the write figures")
    _s, _n, db = fig_import.run_import(kind, document(sizes.hosts, sizes.instances),
                                       sizes.import_batch)
    return db


def _writes(run: Run, kind: str, db: Scratch, sizes: Sizes, log: Any,
            only: set[int]) -> Figure:
    project, hosts = _inventory(db, 4000)
    raw = RawStore(kind)
    server = craton(db.url)
    floor = trivial(kind)  # the raw transaction behind the same gunicorn settings
    try:
        make = _changer(server.port, project, hosts)
        make_floor = _raw_over_http(floor.port)
        if 1 in only:
            log(f"  fig 1: {sizes.latency_samples} PUTs of host variables, each beside a raw "
                "transaction and the raw transaction over HTTP")
            times = interleaved({"put": make(), "raw": raw.transaction(),
                                 "floor": make_floor()},
                                sizes.latency_samples, warmup=10)
            fig = run.figure(1)
            put, base, over_http = times["put"], times["raw"], times["floor"]
            fig.measurements += [
                Measurement("median latency", "ms", 1000 * median(put), 1000 * median(base),
                            "raw transaction: lock the event table, insert two rows, commit",
                            Target("<=", 3)),
                Measurement("p99 latency", "ms", 1000 * percentile(put, 99),
                            1000 * percentile(base, 99), "the same raw transaction, p99",
                            Target("<=", 3)),
                Measurement(FLOOR_LATENCY, "ms", 1000 * median(over_http),
                            1000 * median(base),
                            "the raw transaction itself; the ratio is what HTTP alone adds, "
                            "the least any change through the API can cost"),
                Measurement("median latency against the raw transaction over HTTP", "ms",
                            1000 * median(put), 1000 * median(over_http),
                            "the raw transaction behind the same gunicorn settings; the ratio "
                            "is what the change does beyond it"),
            ]
            fig.details = {"samples": sizes.latency_samples, "hosts_in_fleet": len(hosts),
                           "server": "craton serve, 2 gunicorn workers"}
            if not fig.met:
                fig.profile = _profile_app(db, project, hosts, "PUT")
        if 2 in only:
            log(f"  fig 2: {CLIENTS} clients changing hosts for {sizes.concurrent_seconds} s, "
                "then the raw transaction from 8 clients")
            n, secs = concurrent(make, CLIENTS, sizes.concurrent_seconds)
            bn, bsecs = concurrent(raw.transaction, CLIENTS, sizes.concurrent_seconds)
            fn, fsecs = concurrent(make_floor, CLIENTS, sizes.concurrent_seconds)
            fig2 = run.figure(2)
            fig2.measurements += [
                Measurement("changes per second, 8 clients", "changes/s", n / secs,
                            bn / bsecs, "the raw transaction from 8 clients",
                            Target(">=", 0.5)),
                Measurement(FLOOR_RATE, "changes/s", fn / fsecs, bn / bsecs,
                            "the raw transaction from 8 clients; the ratio is the most any "
                            "change through the API can reach"),
            ]
            fig2.details = {"changes": n, "seconds": round(secs, 1), "raw": bn,
                            "raw_seconds": round(bsecs, 1), "raw_over_http": fn,
                            "raw_over_http_seconds": round(fsecs, 1)}
            fig1 = run.figures.get(1)
            if not fig2.met and not (fig1 and fig1.profile):
                fig2.profile = _profile_app(db, project, hosts, "PUT")
    finally:
        floor.stop()
        server.stop()
        raw.drop()
    return run.figure(1) if 1 in only else run.figure(2)


class RssSampler:
    """Peak resident memory of a server's workers, sampled in the background."""

    def __init__(self, server: Served):
        self.server, self.peak = server, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            for proc in self.server.workers():
                # a worker may be gone between listing and reading
                with contextlib.suppress(Exception):
                    self.peak = max(self.peak, proc.memory_info().rss / 1024 / 1024)
            time.sleep(0.1)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def load(port: int, path: str, seconds: float, clients: int = READERS
         ) -> tuple[float, list[float]]:
    """Requests per second and each request's latency, from ``clients`` threads."""
    count, elapsed, latencies = _load(port, path, seconds, clients)
    return count / elapsed, latencies


ROUNDS = 5  # turns each load takes in ``taking_turns``


def taking_turns(targets: dict[str, tuple[int, str]], seconds: float
                 ) -> dict[str, tuple[float, list[float]]]:
    """``load`` of each (port, path) for ``seconds`` in all, in turns of a fifth of it.

    The machine is shared: a busy spell that fell on one load and not on
    another would tilt their ratio. Taking turns spreads it over all of them.
    Each load first has an untimed turn, so none is timed while the database's
    buffers, the workers' connections and statements are still cold.
    """
    done: dict[str, tuple[int, float, list[float]]] = {name: (0, 0.0, []) for name in targets}
    for port, path in targets.values():  # an untimed turn each first: caches, plans, pools
        _load(port, path, min(1.0, seconds / ROUNDS))
    for _ in range(ROUNDS):
        for name, (port, path) in targets.items():
            count, elapsed, latencies = _load(port, path, seconds / ROUNDS)
            total, spent, seen = done[name]
            done[name] = (total + count, spent + elapsed, seen + latencies)
    return {name: (count / elapsed, latencies)
            for name, (count, elapsed, latencies) in done.items()}


def _load(port: int, path: str, seconds: float, clients: int = READERS
          ) -> tuple[int, float, list[float]]:
    latencies: list[list[float]] = [[] for _ in range(clients)]

    def make() -> Callable[[], None]:
        i = len([x for x in made])
        made.append(i)
        client = Client(port)

        def get() -> None:
            start = now()
            client.ok("GET", path)
            latencies[i].append(now() - start)
        return get

    made: list[int] = []
    Client(port).ok("GET", path)  # warm
    count, elapsed = concurrent(make, clients, seconds)
    return count, elapsed, [x for per in latencies for x in per]


def _listings(fig: Figure, sampler: RssSampler, base_port: int, port: int, sizes: Sizes,
              log: Any, only: set[int]) -> float:
    """Figure 5's loads, taking turns; returns the API workers' peak RSS under them."""
    try:
        log(f"  fig 5: the trivial Falcon endpoint and GET {', '.join(LISTINGS.values())} "
            f"taking turns, {READERS} clients, {sizes.listing_seconds} s each")
        measured = taking_turns({"trivial": (base_port, "/ping"), **{
            name: (port, path) for name, path in LISTINGS.items()}},
            sizes.listing_seconds)
    finally:
        peak = sampler.stop()
    base_rps, base_lat = measured.pop("trivial")
    if 5 in only:
        for name, (rps, lat) in measured.items():
            fig.measurements += [
                Measurement(f"{name}: requests/s", "req/s", rps, base_rps,
                            "trivial Falcon endpoint, same gunicorn settings",
                            Target(">=", 0.3)),
                Measurement(f"{name}: p50", "ms", 1000 * median(lat),
                            1000 * median(base_lat), "trivial endpoint p50"),
                Measurement(f"{name}: p99", "ms", 1000 * percentile(lat, 99),
                            1000 * percentile(base_lat, 99), "trivial endpoint p99"),
            ]
    return peak


def _reads(run: Run, dbs: dict[int, Scratch], sizes: Sizes, log: Any, only: set[int]
           ) -> Figure:
    big, small = dbs[sizes.log_events], dbs[sizes.log_events // 10]
    fig = run.figure(5)
    with contextlib.ExitStack() as servers:
        base_server = trivial()
        servers.callback(base_server.stop)
        server = craton(big.url)
        servers.callback(server.stop)
        sampler = RssSampler(server)
        peak_big = _listings(fig, sampler, base_server.port, server.port, sizes, log, only)
    fig.details = {"log_events": sizes.log_events, "hosts": sizes.log_hosts,
                   "clients": READERS, "workers": 2, "seconds_each": sizes.listing_seconds,
                   "turns": ROUNDS}
    if 5 in only and not fig.met:
        fig.profile = _profile_app(big, None, [], "GET")
    if 8 in only:
        server = craton(small.url)
        sampler = RssSampler(server)
        try:
            for path in LISTINGS.values():
                load(server.port, path, sizes.listing_seconds)
        finally:
            peak_small = sampler.stop()
            server.stop()
        fig8 = run.figure(8)
        fig8.measurements.append(Measurement(
            "API worker peak RSS under the listing load", "MiB", peak_big, peak_small,
            f"the same load on a log of {sizes.log_events // 10:,} events",
            Target("<=", 1.25)))
    return fig


def _profile_app(db: Scratch, project: str | None, hosts: list[int], method: str) -> str:
    """The API in this process (Falcon's test client), profiled over a hundred requests."""
    from falcon import testing

    from bench.profiling import profile
    from bench.server import TOKEN
    from craton.api.app import create_app
    from craton.api.auth import ensure_root
    from craton.bootstrap import bootstrap
    from craton.settings import Settings

    svc = bootstrap(Settings(database_url=db.url, root_token=TOKEN))
    ensure_root(svc, TOKEN)
    client = testing.TestClient(create_app(svc))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if project:
        headers["X-Auth-Project"] = project

    def run() -> None:
        for i in range(100):
            if method == "PUT":
                client.simulate_put(f"/v1/hosts/{hosts[i % len(hosts)]}/variables",
                                    json={"variables": {"bench_profile": i}}, headers=headers)
            else:
                client.simulate_get("/v1/hosts", query_string="limit=100&details=true",
                                    headers=headers)

    try:
        text, _ = profile(run)
        return f"{method} through the app in-process, 100 requests\n{text}"
    finally:
        svc.close()
