"""Every route of openapi.json fuzzed by schemathesis with a valid editor token: no 5xx, and
no status the document does not promise.

The API runs in a uvicorn of its own, with a worker of its own, on a thread's event loop
(schemathesis calls it synchronously), against the session's real stack. Path parameters
named ``project_id`` point at a real project of the caller's tenant (except where the
route deletes it), so requests get past the 404 into the route. Examples are bounded
(``MAX_EXAMPLES`` per operation, derandomised) to keep the suite's time.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, status_code_conformance

from api.app import create_app
from api.openapi import COMMITTED
from docflow import temporal
from docflow.settings import Settings
from docflow.storage.db import make_engine
from tests.conftest import bearer
from tests.servers import QuietServer, free_port
from worker.main import build_worker

MAX_EXAMPLES = 20
STREAMING = "/api/v1/projects/{project_id}/events"  # an open stream: tested in test_events.py
IDEA = "A booking app for small harbours: berths, tides and arrivals, for harbour masters."


async def _serve_with_worker(settings: Settings, server: QuietServer) -> None:
    """The API and a worker of its own, on this thread's event loop."""
    client = await temporal.connect(settings)
    engine = make_engine(settings.database_url or "")
    try:
        async with build_worker(client, engine, settings):
            await server.serve()
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def fuzz_url(api_settings: Settings) -> Iterator[str]:
    settings = api_settings.model_copy(update={"task_queue": f"fuzz-{uuid4().hex[:8]}"})
    port = free_port()
    app = create_app(settings)
    server = QuietServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(
        target=asyncio.run, args=(_serve_with_worker(settings, server),), name="fuzz-api"
    )
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the fuzzed API did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def fuzz_auth(api_settings: Settings) -> dict[str, str]:
    return bearer(api_settings, uuid4(), "editor")


@pytest.fixture(scope="module")
def fuzz_project(fuzz_url: str, fuzz_auth: dict[str, str]) -> str:
    created = httpx.post(
        f"{fuzz_url}/api/v1/projects", json={"name": "Fuzzed", "idea": IDEA}, headers=fuzz_auth
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


# The committed document (tests/unit/test_openapi.py keeps it equal to the app's own).
# Loaded eagerly: schemathesis's lazy fixture loader uses a pytest internal that pytest 9
# removed (``Function._nodeid``).
schema = schemathesis.openapi.from_path(str(COMMITTED)).exclude(path=STREAMING)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_route_answers_a_server_error_or_an_undocumented_status(
    case: schemathesis.Case[Any], fuzz_url: str, fuzz_auth: dict[str, str], fuzz_project: str
) -> None:
    parameters = case.path_parameters or {}
    if "project_id" in parameters and case.method.upper() != "DELETE":
        parameters["project_id"] = fuzz_project
    response = case.call(base_url=fuzz_url, headers=fuzz_auth, timeout=15)
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance])
