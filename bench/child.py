"""Run a script in this process and report its peak memory: ``python -m bench.child SCRIPT ARGS``.

The last line printed is JSON: exit code, wall seconds and peak RSS in MiB.
"""

from __future__ import annotations

import json
import runpy
import sys
import time

from craton.memory import peak_mib


def main() -> int:
    script, args = sys.argv[1], sys.argv[2:]
    sys.argv = [script, *args]
    start = time.perf_counter()
    code = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
    seconds = time.perf_counter() - start
    peak = peak_mib()
    print(json.dumps({"code": code, "seconds": seconds, "peak_mib": peak}), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
