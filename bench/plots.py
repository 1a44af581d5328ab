"""PNG plots of the growth series and of each figure's ratio to its target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def growth(runs: dict[str, dict[str, Any]], out: Path) -> list[Path]:
    """Replay time, as-of latency and event-table size against the number of events."""
    out.mkdir(parents=True, exist_ok=True)
    panels = [("replay_s", "replay time (s)", "replay"),
              ("as_of_s", "whole-fleet as-of query (s)", "asof"),
              ("events_table_mib", "event table with indexes (MiB)", "table")]
    paths = []
    for key, label, slug in panels:
        fig, ax = plt.subplots(figsize=(6, 4))
        drawn = False
        for database, run in sorted(runs.items()):
            points = [(g["events"], g[key]) for g in run.get("growth", [])
                      if g.get(key) is not None]
            if points:
                xs, ys = zip(*sorted(points), strict=True)
                ax.plot(xs, ys, marker="o", label=database)
                drawn = True
        if not drawn:
            plt.close(fig)
            continue
        ax.set_xlabel("events in the log")
        ax.set_ylabel(label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        ax.set_title(f"{label} against log size")
        path = out / f"growth-{slug}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths


def ratios(runs: dict[str, dict[str, Any]], out: Path) -> Path | None:
    """Each targeted measurement's ratio divided by its target (below 1 is met for ≤)."""
    out.mkdir(parents=True, exist_ok=True)
    labels, values, colors = [], [], []
    for database, run in sorted(runs.items()):
        for number, fig in sorted(run.get("figures", {}).items(), key=lambda kv: int(kv[0])):
            for m in fig.get("measurements", []):
                target, ratio = m.get("target"), m.get("ratio")
                if not target or ratio is None:
                    continue
                # how far from the target, as a factor: >1 means missed
                off = ratio / target["ratio"] if target["op"] == "<=" else target["ratio"] / ratio
                labels.append(f"{database} #{number} {m['name']}"[:60])
                values.append(off)
                colors.append("tab:green" if m.get("met") else "tab:red")
    if not values:
        return None
    fig, ax = plt.subplots(figsize=(8, max(3, 0.3 * len(values))))
    ax.barh(range(len(values)), values, color=colors)
    ax.set_yticks(range(len(values)), labels, fontsize=7)
    ax.axvline(1.0, color="black", lw=1)
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("distance from target (1 = exactly on target; right of 1 = missed)")
    fig.tight_layout()
    path = out / "targets.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
