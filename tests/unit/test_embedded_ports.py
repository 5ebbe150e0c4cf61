"""A service started on free ports that loses one to another process starts again elsewhere.

A free port is picked, released and handed to the server; another process may bind it in
between (seen once in CI: Temporal "bind: address already in use"). Real child processes
stand in for the servers here; the whole stack is tested in tests/integration.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from docflow.embedded import (
    LOG_HEADER,
    PORT_RACE_ATTEMPTS,
    EmbeddedServiceError,
    _Child,
    _Pending,
    _wait_ready,
)

LOST_PORT = "echo 'listen tcp 127.0.0.1:42747: bind: address already in use'; exit 2"
OTHER_FAILURE = "echo 'panic: invalid configuration'; exit 2"


def launcher(tmp_path: Path, scripts: list[str], free: bool = True) -> Callable[[], _Pending]:
    """Starts ``sh -c`` with the next script each time; a script that sleeps is 'ready'."""
    log = tmp_path / "service.log"
    starts: list[subprocess.Popen[bytes]] = []

    def launch() -> _Pending:
        with log.open("a") as out:
            out.write(f"{LOG_HEADER}starting service\n")
        with log.open("ab") as out:
            script = scripts[len(starts)]
            process = subprocess.Popen(["sh", "-c", script], stdout=out, stderr=out)
        starts.append(process)
        child = _Child("service", process, log, tmp_path / "service.pid")
        ready = "sleep" in script
        return _Pending(child, lambda: ready and process.poll() is None, 5.0,
                        (f"started {len(starts)}",), launch if free else None)  # fmt: skip

    return launch


def stop(pending: _Pending) -> None:
    pending.child.process.kill()
    pending.child.process.wait()


def test_a_lost_free_port_starts_the_service_again_on_other_ports(tmp_path: Path) -> None:
    launch = launcher(tmp_path, [LOST_PORT, "sleep 30"])
    ready = _wait_ready(launch())
    assert ready.urls == ("started 2",)
    stop(ready)


def test_it_gives_up_after_the_attempts_with_the_log(tmp_path: Path) -> None:
    launch = launcher(tmp_path, [LOST_PORT] * PORT_RACE_ATTEMPTS)
    with pytest.raises(EmbeddedServiceError, match="address already in use"):
        _wait_ready(launch())


@pytest.mark.parametrize(("script", "free"), [(OTHER_FAILURE, True), (LOST_PORT, False)])
def test_other_failures_and_fixed_ports_are_not_retried(
    tmp_path: Path, script: str, free: bool
) -> None:
    launch = launcher(tmp_path, [script, "sleep 30"], free=free)
    with pytest.raises(EmbeddedServiceError, match="exited with code 2"):
        _wait_ready(launch())
