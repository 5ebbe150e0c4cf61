"""Serving an app for real in tests: uvicorn on a free loopback port, in this process."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn
from fastapi import FastAPI


class QuietServer(uvicorn.Server):
    """Leaves the process's signal handlers alone: several servers share one process, and
    sse-starlette's shutdown watcher must not pick up a stopped server's handler."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def serve(
    app: FastAPI, port: int | None = None, graceful_shutdown_s: int | None = None
) -> AsyncIterator[str]:
    """Serve ``app`` (lifespan included) and yield its base URL; stop it afterwards.

    ``graceful_shutdown_s`` bounds how long open requests (SSE streams) may hold the stop.
    """
    port = port or free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=graceful_shutdown_s,
    )
    server = QuietServer(config)
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(20):
            while not server.started:  # noqa: ASYNC110 (uvicorn offers no started event)
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
