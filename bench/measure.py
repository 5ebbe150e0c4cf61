"""Small measuring helpers the benchmarks share: percentiles, a process's RSS and CPU,
free local ports."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Sequence
from pathlib import Path


def p95(samples: Sequence[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def quiet(pid: int, *, busy_below: float = 0.1, within_s: float = 90.0) -> None:
    """Wait until process ``pid`` uses under ``busy_below`` of a core over half a second
    (a worker warming up, say), for at most ``within_s``."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        before = cpu_s(pid)
        await asyncio.sleep(0.5)
        if cpu_s(pid) - before < busy_below * 0.5:
            return


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free on the loopback right now."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
