"""One error shape: RFC 9457 problem+json for every 4xx and 5xx, over a real uvicorn server.

The product app (``api_url``) shows the handlers are installed; a test-only app built with
``create_app`` adds routes the product does not have (a body model, a route that crashes).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, HTTPException

from api.app import create_app
from api.schemas import RequestModel
from docflow.settings import Settings
from docflow.storage.models import Tenant
from tests.conftest import bearer
from tests.servers import free_port, serve

PROBLEM_JSON = "application/problem+json"
SECRET = "password=hunter2 in a crash message"
SMALL_LIMIT = 1_000


class Widget(RequestModel):
    name: str
    size: int


def extra_routes() -> APIRouter:
    router = APIRouter(prefix="/test-only")

    @router.post("/widgets")
    async def create_widget(widget: Widget) -> dict[str, str | int]:
        return widget.model_dump()

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError(SECRET)

    @router.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(418, detail="short and stout", headers={"X-Teapot": "yes"})

    return router


@pytest.fixture(scope="module")
async def test_app_url(api_settings: Settings) -> AsyncIterator[str]:
    app = create_app(api_settings.model_copy(update={"max_request_bytes": SMALL_LIMIT}))
    app.include_router(extra_routes())
    async with serve(app) as url:
        yield url


@pytest.fixture
async def test_http(test_app_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=test_app_url, timeout=30) as session:
        yield session


def assert_problem(answer: httpx.Response, status: int) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    body: dict[str, object] = answer.json()
    assert body["status"] == status
    assert {"type", "title", "detail", "instance"} <= body.keys()
    assert body["instance"] == answer.request.url.path
    return body


# --- the product app ------------------------------------------------------------------------


async def test_unknown_route_is_a_404_problem(http: httpx.AsyncClient) -> None:
    body = assert_problem(await http.get("/api/v1/no-such-thing"), 404)
    assert body["type"] == "about:blank"
    assert body["title"] == "Not Found"


async def test_wrong_method_is_a_405_problem_with_allow(http: httpx.AsyncClient) -> None:
    answer = await http.delete("/healthz")
    body = assert_problem(answer, 405)
    assert body["title"] == "Method Not Allowed"
    assert answer.headers["allow"] == "GET"


async def test_401_keeps_www_authenticate(http: httpx.AsyncClient) -> None:
    answer = await http.get("/api/v1/projects")
    body = assert_problem(answer, 401)
    assert answer.headers["www-authenticate"] == "Bearer"
    assert body["detail"] == "missing bearer token"


async def test_announced_oversized_body_is_a_413(
    http: httpx.AsyncClient, api_settings: Settings
) -> None:
    oversized = b"x" * (api_settings.max_request_bytes + 1)
    answer = await http.post("/api/v1/projects", content=oversized)
    body = assert_problem(answer, 413)
    assert body["type"] == "https://docflow.dev/problems/content-too-large"
    assert body["max_bytes"] == api_settings.max_request_bytes


async def test_every_response_has_a_request_id(http: httpx.AsyncClient) -> None:
    offered = await http.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert offered.headers["x-request-id"] == "abc-123"
    made_up = await http.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert len(made_up.headers["x-request-id"]) == 32


async def test_oauth2_errors_of_the_token_endpoint_are_left_alone(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.post("/api/v1/auth/token", data={"grant_type": "client_credentials"})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error"] == "unsupported_grant_type"


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({"name": "a", "size": 1, "colour": "red"}, "body.colour", "Extra inputs"),
        ({"name": "a"}, "body.size", "Field required"),
        ({"name": "a", "size": "large"}, "body.size", "valid integer"),
    ],
    ids=["unknown-field", "missing-field", "wrong-type"],
)
async def test_invalid_body_is_a_422_naming_the_field(
    test_http: httpx.AsyncClient, payload: dict[str, object], field: str, words: str
) -> None:
    body = assert_problem(await test_http.post("/test-only/widgets", json=payload), 422)
    assert body["type"] == "https://docflow.dev/problems/validation-error"
    errors = body["errors"]
    assert isinstance(errors, list)
    assert [error["field"] for error in errors] == [field]
    assert words in errors[0]["message"]
    assert field in str(body["detail"])


async def test_a_body_that_is_not_json_is_a_422(test_http: httpx.AsyncClient) -> None:
    answer = await test_http.post(
        "/test-only/widgets", content=b"{not json", headers={"content-type": "application/json"}
    )
    body = assert_problem(answer, 422)
    assert body["errors"][0]["type"] == "json_invalid"  # type: ignore[index]


async def test_rejected_input_is_not_echoed(test_http: httpx.AsyncClient) -> None:
    answer = await test_http.post("/test-only/widgets", json={"name": "a", "size": SECRET})
    assert_problem(answer, 422)
    assert SECRET not in answer.text


# --- HTTPException, 413 streamed, 500 -------------------------------------------------------


async def test_http_exception_keeps_status_detail_and_headers(
    test_http: httpx.AsyncClient,
) -> None:
    answer = await test_http.get("/test-only/teapot")
    body = assert_problem(answer, 418)
    assert body["detail"] == "short and stout"
    assert answer.headers["x-teapot"] == "yes"


async def test_streamed_oversized_body_is_a_413(test_http: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # 3.2 MB, no Content-Length
        yield b'{"name": "'
        for _ in range(200):
            yield b"x" * 16_000

    answer = await test_http.post(
        "/test-only/widgets", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in answer.request.headers
    body = assert_problem(answer, 413)
    assert body["max_bytes"] == SMALL_LIMIT


async def test_a_body_under_the_limit_passes(test_http: httpx.AsyncClient) -> None:
    answer = await test_http.post("/test-only/widgets", json={"name": "a" * 100, "size": 3})
    assert answer.status_code == 200, answer.text


async def test_an_unhandled_exception_is_a_generic_500(
    test_http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="api.middleware"):
        answer = await test_http.get("/test-only/boom", headers={"X-Request-ID": "req-500"})
    body = assert_problem(answer, 500)
    assert body["type"] == "https://docflow.dev/problems/internal-error"
    assert body["request_id"] == "req-500"
    assert answer.headers["x-request-id"] == "req-500"
    for leak in (SECRET, "hunter2", "RuntimeError", "Traceback", "boom"):
        assert leak not in str(body["detail"]) and leak not in answer.text.replace(
            "/test-only/boom", ""
        )
    logged = [record for record in caplog.records if record.name == "api.middleware"]
    assert len(logged) == 1
    assert "req-500" in logged[0].getMessage()
    assert logged[0].exc_info is not None


async def test_a_database_that_does_not_answer_is_a_503_with_retry_after(
    api_settings: Settings, tenant: Tenant
) -> None:
    # PostgreSQL gone (nothing listens on the port): the API says so, and when to retry.
    down = api_settings.model_copy(
        update={"database_url": f"postgresql+asyncpg://docflow_app:x@127.0.0.1:{free_port()}/d"}
    )
    async with serve(create_app(down)) as url, httpx.AsyncClient(base_url=url) as http:
        answer = await http.get("/api/v1/projects", headers=bearer(api_settings, tenant.id))
    body = assert_problem(answer, 503)
    assert body["type"] == "https://docflow.dev/problems/service-unavailable"
    assert answer.headers["retry-after"] == "5"
    assert "postgres" not in answer.text.lower() and "asyncpg" not in answer.text.lower()
