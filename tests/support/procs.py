"""A process and its descendants, read from /proc (for tests and benchmarks of the server tree)."""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stats() -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                out[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
    return out


def descendants(pid: int, stats: dict[int, list[str]] | None = None) -> list[int]:
    """`pid` and every process below it."""
    stats = _stats() if stats is None else stats
    children: dict[int, list[int]] = {}
    for child, fields in stats.items():
        children.setdefault(int(fields[1]), []).append(child)
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(children.get(p, []))
    return out


def tree_cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` and all its descendants."""
    stats = _stats()
    return sum((int(stats[p][11]) + int(stats[p][12])) / _TICK for p in descendants(pid, stats) if p in stats)


def tree_memory_mb(pid: int) -> dict[str, float]:
    """RSS and PSS of `pid` and its descendants, in MB. RSS counts shared pages (libraries, the
    Python runtime) once per process; PSS shares them out, so its sum is the tree's real footprint."""
    totals = {"rss_mb": 0.0, "pss_mb": 0.0}
    for p in descendants(pid):
        try:
            text = Path(f"/proc/{p}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key in ("Rss", "Pss"):
                totals[f"{key.lower()}_mb"] += int(value.split()[0]) / 1024
    return {k: round(v, 1) for k, v in totals.items()}


def proc_kb(pid: int, key: str, name: str = "status") -> int:
    """A kB figure of /proc/PID/NAME (`VmRSS` of status, `Pss` of smaps_rollup); 0 when gone."""
    try:
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def named_descendants(pid: int, comm: str) -> list[int]:
    """The processes below `pid` (itself included) whose command name is `comm`."""
    out = []
    for p in descendants(pid):
        try:
            if Path(f"/proc/{p}/comm").read_text().strip() == comm:
                out.append(p)
        except OSError:
            continue
    return out
