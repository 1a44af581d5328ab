"""Writes docs/benchmarks.json and docs/benchmarks.md from the runs, with the plots."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import analysis, growth, plots
from bench.config import DOCS
from bench.model import TIMES, TITLES, headline

JSON_PATH = DOCS / "benchmarks.json"
MD_PATH = DOCS / "benchmarks.md"
PLOTS = DOCS / "bench"

X = TIMES
TARGETS = {
    1: f"median and p99 ≤ 3{X} a raw transaction of the same shape",
    2: f"≥ 0.5{X} the raw transaction from 8 clients",
    3: f"≥ 0.5{X} the store's own append rate",
    4: f"≥ 0.5{X} the read rate, ≥ 50{X} the library's ProjectionRunner",
    5: f"≥ 0.3{X} a trivial Falcon endpoint",
    6: f"≤ 2{X} the current query; ≥ 100{X} faster than a naive replay",
    7: f"≤ 2{X} the current-state GET",
    8: f"flat: ≤ 1.25{X} the peak at one tenth of the log",
}


def load() -> dict[str, Any]:
    if JSON_PATH.exists():
        try:
            data: dict[str, Any] = json.loads(JSON_PATH.read_text())
            return data
        except ValueError:
            pass
    return {"runs": {}}


def save(machine: dict[str, Any], runs: dict[str, dict[str, Any]],
         planner: dict[str, Any] | None) -> None:
    """Merge these runs into the stored results (other databases' runs stay) and write both."""
    data = load()
    stored = data.setdefault("runs", {})
    for database, run in runs.items():
        stored[database] = _merged(stored.get(database), run)
    data["machine"] = machine
    data["written"] = datetime.now(UTC).isoformat(timespec="seconds")
    if planner is not None:
        data["planner"] = planner
    for run in stored.values():
        run["growth_summary"] = growth.summary(run.get("growth", []))
    data["figures"] = _by_number(data["runs"])
    DOCS.mkdir(parents=True, exist_ok=True)
    JSON_PATH.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    images = plots.growth(data["runs"], PLOTS)
    target_plot = plots.ratios(data["runs"], PLOTS)
    MD_PATH.write_text(markdown(data, images, target_plot))


def _merged(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """A partial run (``--figures``) keeps the figures it did not measure from the last run."""
    if not old:
        return new
    out = dict(new)
    figures = dict(new.get("figures", {}))
    for number, fig in old.get("figures", {}).items():
        if number not in figures or _empty(figures[number]):
            figures[number] = {**fig, "measured_in_run": fig.get("measured_in_run")
                               or old.get("started"),
                               "measured_code": fig.get("measured_code") or old.get("code")}
    out["figures"] = dict(sorted(figures.items(), key=lambda kv: int(kv[0])))
    out["growth"] = _merged_growth(old, new)
    return out


def _merged_growth(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """This run's growth points, and the earlier ones at sizes it did not measure (a
    series run once with ``--growth ...,10000000`` keeps that point through later
    default runs), each marked with the run and the code it came from."""
    fresh = new.get("growth", [])

    def measured(events: int) -> bool:  # (a log of N holds N events, or a few more)
        return any(abs(g["events"] - events) <= events // 100 for g in fresh)

    kept = [{**g, "measured_in_run": g.get("measured_in_run") or old.get("started"),
             "measured_code": g.get("measured_code") or (old.get("code") or {}).get("commit")}
            for g in old.get("growth", []) if not measured(g["events"])]
    return sorted([*fresh, *kept], key=lambda g: g["events"])


def _empty(fig: dict[str, Any]) -> bool:
    """A figure a partial run touched without measuring it (say, 5 when only 8 was asked)."""
    return not fig.get("measurements") and not fig.get("error")


def _by_number(runs: dict[str, Any]) -> dict[str, Any]:
    """For each figure number: per database, value, baseline, ratio, target and met."""
    out: dict[str, Any] = {}
    for number in range(1, 9):
        entry: dict[str, Any] = {"title": TITLES[number], "target": TARGETS[number]}
        for database, run in sorted(runs.items()):
            fig = run.get("figures", {}).get(str(number))
            if fig is not None:
                entry[database] = {**headline(fig.get("measurements", [])), "met": fig["met"]}
        out[str(number)] = entry
    return out


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    else:
        text = str(value)
    return f"{text} {unit}".strip()


def _met(value: Any) -> str:
    return {True: "**yes**", False: "**NO**", None: "-"}[value]


def markdown(data: dict[str, Any], images: list[Path], target_plot: Path | None) -> str:
    m = data.get("machine", {})
    runs = data.get("runs", {})
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`; `--quick` for a run ten times "
        "smaller). Every figure is measured beside its baseline in the same run, on the "
        "same database server, and reported as a ratio to it, because the machines are "
        "shared and noisy. Tests never assert timings. The raw numbers are in "
        "`docs/benchmarks.json`.",
        "",
        "## Machine and software",
        "",
        f"- CPU: {m.get('cpu')}, {m.get('cores')} cores; RAM {m.get('memory_gb')} GiB",
        f"- OS: {m.get('os')} (kernel {m.get('kernel')})",
        f"- Python {m.get('python')}, SQLite {m.get('sqlite')}, "
        f"PostgreSQL {m.get('postgresql')}",
        "- Libraries: " + ", ".join(f"{k} {v}" for k, v in m.get("libraries", {}).items()),
        f"- Written {data.get('written')}",
        "",
        "## Summary",
        "",
        "| # | figure | target | " + " | ".join(sorted(runs)) + " |",
        "|---|---|---|" + "---|" * len(runs),
    ]
    for number in range(1, 9):
        cells = []
        for database in sorted(runs):
            fig = runs[database].get("figures", {}).get(str(number))
            ratio = headline(fig.get("measurements", []))["ratio"] if fig else None
            # (four digits: a ratio just short of its target must not read as on it)
            cells.append("not run" if fig is None else
                         _met(fig["met"]) + (f" ({ratio:.4g}{TIMES})"
                                             if ratio is not None else ""))
        lines.append(f"| {number} | {TITLES[number]} | {TARGETS[number]} | "
                     + " | ".join(cells) + " |")
    lines += ["", "A ratio is the measured value divided by its baseline; where a figure "
              "has several measurements, the one shown is the first that misses its "
              "target (else the first). For times "
              f"lower is better (target ≤ N{TIMES}); for rates higher is better "
              f"(target ≥ N{TIMES}).", ""]
    if target_plot is not None:
        lines += [f"![distance from each target]({target_plot.relative_to(MD_PATH.parent)})",
                  ""]
    lines += analysis.section(runs)
    for database in sorted(runs):
        lines += _run_section(database, runs[database])
    lines += _growth_section(runs, images)
    if data.get("planner"):
        lines += _planner_section(data["planner"])
    return "\n".join(lines) + "\n"


def _run_section(database: str, run: dict[str, Any]) -> list[str]:
    lines = [f"## {database}", "",
             f"Run started {run.get('started')}, took {run.get('seconds')} s"
             f"{' (quick sizes)' if run.get('quick') else ''}. Server: "
             f"{run.get('server') or database}.", ""]
    if run.get("code"):
        code = run["code"]
        modified = code.get("modified_core_files") or 0
        lines += [f"Code measured by this run: commit {code.get('commit')}"
                  + (f", with {modified} modified files under craton/ (uncommitted work in "
                     "progress at the time of the run)" if modified else "")
                  + ". Figures carried over from an earlier run name theirs.", ""]
    figures = run.get("figures", {}).values()
    if figures and all(f.get("measured_in_run") for f in figures):
        lines += ["This run measured the growth series only; every figure below comes from "
                  "an earlier run, named with it.", ""]
    if run.get("sizes"):
        lines += ["Sizes: " + ", ".join(
            f"{k} {tuple(v) if isinstance(v, list) else v}" for k, v in run["sizes"].items()),
            ""]
    for note in run.get("notes", []):
        lines.append(f"- {note}")
    if run.get("notes"):
        lines.append("")
    for number, fig in sorted(run.get("figures", {}).items(), key=lambda kv: int(kv[0])):
        lines += [f"### {database} — figure {number}: {fig['title']}", ""]
        if fig.get("measured_in_run"):
            code = (fig.get("measured_code") or {}).get("commit")
            lines += [f"(Measured in the earlier run of {fig['measured_in_run']}"
                      + (f", on commit {code}" if code else "") + ".)", ""]
        if fig.get("error"):
            lines += [f"Not measured: {fig['error']}", ""]
        if fig.get("measurements"):
            lines += ["| measurement | value | baseline | ratio | target | met |",
                      "|---|---|---|---|---|---|"]
            for meas in fig["measurements"]:
                target = meas["target"]["text"] if meas.get("target") else "(informative)"
                lines.append(
                    f"| {meas['name']} | {_fmt(meas['value'], meas['unit'])} | "
                    f"{_fmt(meas['baseline'], meas['unit'])} ({meas['baseline_name']}) | "
                    f"{_fmt(meas['ratio'])}{TIMES} | {target} | {_met(meas['met'])} |")
            lines.append("")
            notes = [meas["note"] for meas in fig["measurements"] if meas.get("note")]
            lines += [f"- {n}" for n in dict.fromkeys(notes)]
            if notes:
                lines.append("")
        if fig.get("details"):
            lines += ["Details: " + ", ".join(f"{k} = {v}" for k, v in fig["details"].items()),
                      ""]
        if fig.get("met") is False:
            lines += ["**Target missed.**" + (" Where the time goes:" if fig.get("profile")
                                              else ""), ""]
        if fig.get("profile"):
            lines += ["```", fig["profile"].rstrip(), "```", ""]
    return lines


def _growth_section(runs: dict[str, Any], images: list[Path]) -> list[str]:
    rows = [(db, run, g) for db, run in sorted(runs.items()) for g in run.get("growth", [])]
    if not rows:
        return []
    lines = ["## Growth with the size of the log", "",
             "The same fleet, with a longer and longer history of variable changes.", "",
             "| database | events | replay (s) | replay (events/s) | replay peak (MiB) | "
             "whole-fleet as-of (s) | event table (MiB) | database (MiB) | measured |",
             "|---|---|---|---|---|---|---|---|---|"]
    for db, run, g in rows:
        started = g.get("measured_in_run") or run.get("started")
        commit = g.get("measured_code") if g.get("measured_in_run") else \
            (run.get("code") or {}).get("commit")
        when = f"{started}" + (f", commit {commit}" if commit else "")
        lines.append(f"| {db} | {g['events']:,} | {_fmt(g.get('replay_s'))} | "
                     f"{_fmt(g.get('replay_rate'))} | {_fmt(g.get('replay_peak_mib'))} | "
                     f"{_fmt(g.get('as_of_s'))} | {_fmt(g.get('events_table_mib'))} | "
                     f"{_fmt(g.get('database_mib'))} | {when} |")
    lines.append("")
    for db, run in sorted(runs.items()):
        for sentence in run.get("growth_summary", []):
            lines.append(f"- {db}: {sentence}")
        longest = max((g for g in run.get("growth", []) if g.get("as_of_s")
                       and g.get("current_s")), key=lambda g: g["events"], default=None)
        if longest is not None:
            lines.append(
                f"- {db}: on the longest log ({longest['events']:,} events) the whole fleet "
                f"as of its middle took {longest['as_of_s'] / longest['current_s']:.2f}"
                f"{TIMES} the current-state query ({_fmt(longest['as_of_s'])} s against "
                f"{_fmt(longest['current_s'])} s): the as-of read walks every version of a "
                "resource's variables that began before the moment, and a longer history "
                "has more of them")
    lines.append("")
    for image in images:
        lines += [f"![{image.stem}]({image.relative_to(MD_PATH.parent)})", ""]
    return lines


def _planner_section(planner: dict[str, Any]) -> list[str]:
    lines = ["## Decisioning: consolidation plans on seeded fleets", "",
             f"Seeded fleets (`generate_fleet`, about 20 instances per host, anti-affinity "
             f"groups), time limit {planner.get('time_limit_s')} s, "
             f"{planner.get('cores')} cores. Target at 1,000 hosts: "
             "MILP within 2% of the lower bound, never worse than greedy, in at most 60 s.", "",
             "| hosts | instances | groups | lower bound | MILP hosts (cost) | greedy hosts "
             "(cost) | gap to bound | MILP moves | greedy moves | MILP s | greedy s | "
             "status | met |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in planner.get("fleets", []):
        lines.append(
            f"| {r['hosts']:,} | {r['instances']:,} | {r['groups']} | {r['bound']:.2f} | "
            f"{r['milp_hosts']} ({r['milp_cost']:.2f}) | {r['greedy_hosts']} "
            f"({r['greedy_cost']:.2f}) | {100 * r['gap']:.2f}% | {r['milp_moves']} | "
            f"{r['greedy_moves']} | {r['milp_s']:.1f} | {r['greedy_s']:.1f} | "
            f"{r['status']} | {_met(r.get('met'))} |")
    lines.append("")
    for note in planner.get("notes", []):
        lines.append(f"- {note}")
    lines.append("")
    return lines
