"""The benchmark report keeps growth points a later run did not measure."""

from __future__ import annotations

from bench.report import _merged


def _point(events: int, replay_s: float) -> dict[str, object]:
    return {"events": events, "replay_s": replay_s}


def test_a_run_replaces_the_sizes_it_measured_and_keeps_the_rest_marked() -> None:
    old = {"started": "then", "code": {"commit": "abc"},
           "growth": [_point(100_002, 6.0), _point(10_000_000, 425.0)]}
    new = {"started": "now", "code": {"commit": "def"},
           "growth": [_point(100_000, 8.0), _point(1_000_000, 47.0)]}
    merged = _merged(old, new)["growth"]
    assert [(g["events"], g["replay_s"]) for g in merged] == [
        (100_000, 8.0), (1_000_000, 47.0), (10_000_000, 425.0)]
    kept = merged[-1]
    assert (kept["measured_in_run"], kept["measured_code"]) == ("then", "abc")
    assert "measured_in_run" not in merged[0]
    again = _merged({**new, "growth": merged}, {"started": "later", "growth": []})["growth"]
    assert again[-1]["measured_in_run"] == "then"  # a point keeps the run it came from
