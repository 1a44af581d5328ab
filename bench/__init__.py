"""The benchmark suite: every figure measured beside its baseline, in the same run."""

from __future__ import annotations
