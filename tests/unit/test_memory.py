"""A process's peak memory is its own, not that of what exec'd it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

GROW_THEN_EXEC = """
import os, sys
big = bytearray(300 * 1024 * 1024)
for i in range(0, len(big), 4096):
    big[i] = 1
os.execv(sys.executable, [sys.executable, "-c",
         "from craton.memory import peak_mib; print(peak_mib())"])
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux only")
def test_the_peak_of_what_ran_before_exec_is_not_counted() -> None:
    out = subprocess.run([sys.executable, "-c", GROW_THEN_EXEC], capture_output=True,
                         text=True, check=True, cwd=ROOT)
    assert float(out.stdout.strip()) < 200  # the exec'd interpreter alone, not 300 MiB
