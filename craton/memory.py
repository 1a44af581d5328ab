"""How much memory this process has held at most."""

from __future__ import annotations

import resource


def peak_mib() -> float:
    """This process's peak resident memory so far, in MiB.

    Read from ``VmHWM`` where Linux gives it: ``getrusage`` also counts the peak
    of whatever ran before this program was exec'd in the same process (a
    benchmark harness, a shell), which is not this replay's memory.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
