"""Every route of openapi.json fuzzed by schemathesis with a valid editor token: no 5xx, and
no status the document does not promise.

The API runs in a uvicorn of its own in a thread (schemathesis calls it synchronously),
against the session's real stack. Path parameters named ``project_id`` point at a real
project of the caller's tenant (except where the route deletes it), so requests get past
the 404 into the route. Examples are bounded (``MAX_EXAMPLES`` per operation, derandomised)
to keep the suite's time: about a minute.
"""

from __future__ import annotations

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
from docflow.settings import Settings
from tests.conftest import bearer
from tests.servers import QuietServer, free_port

MAX_EXAMPLES = 6
STREAMING = "/api/v1/projects/{project_id}/events"  # an open stream: tested in test_events.py
IDEA = "A booking app for small harbours: berths, tides and arrivals, for harbour masters."


@pytest.fixture(scope="module")
def fuzz_url(api_settings: Settings) -> Iterator[str]:
    app = create_app(api_settings.model_copy(update={"rate_limit_auth_per_min": 0}))
    port = free_port()
    server = QuietServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="fuzz-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the fuzzed API did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)


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


@pytest.fixture(scope="module")
def api_schema(fuzz_url: str) -> Any:
    schema = schemathesis.openapi.from_url(f"{fuzz_url}/openapi.json")
    return schema.exclude(path=STREAMING)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_route_answers_a_server_error_or_an_undocumented_status(
    case: schemathesis.Case[Any], fuzz_auth: dict[str, str], fuzz_project: str
) -> None:
    parameters = case.path_parameters or {}
    if "project_id" in parameters and case.method.upper() != "DELETE":
        parameters["project_id"] = fuzz_project
    response = case.call(headers=fuzz_auth, timeout=15)
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance])
