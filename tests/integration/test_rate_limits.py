"""Rate limits against the real Redis of the test stack, over real uvicorn servers.

Apps with low limits are built with ``create_app`` and get test-only routes: one open, one
that needs a signed-in caller, one under a project's path. The global and auth buckets are
shared by every app of the session (same Redis, same client IP), so they are cleared
around each test here.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from redis.asyncio import Redis

from api.app import create_app
from api.deps import CurrentPrincipal
from api.ratelimit import (
    KEY_PREFIX,
    Limit,
    RateLimiter,
    RateLimiterUnavailable,
)
from docflow.embedded import StackEndpoints
from docflow.settings import Settings
from docflow.storage.models import Tenant
from tests.conftest import bearer
from tests.integration.test_errors import PROBLEM_JSON
from tests.servers import serve

SHARED_KEYS = (f"{KEY_PREFIX}global", f"{KEY_PREFIX}auth:127.0.0.1")
TOKEN_PATH = "/api/v1/auth/token"
RATE_LIMITED_TYPE = "https://docflow.dev/problems/rate-limited"
PROJECT_PING = "/api/v1/projects/{project_id}/test-only-ping"


def limited_app(settings: Settings, **limits: int) -> FastAPI:
    app = create_app(settings.model_copy(update=limits))
    router = APIRouter()

    @router.get("/test-only/open")
    async def open_route() -> dict[str, str]:
        return {"ok": "open"}

    @router.get("/test-only/ping")
    async def ping(_: CurrentPrincipal) -> dict[str, str]:
        return {"ok": "tenant"}

    @router.get(PROJECT_PING)
    async def project_ping(project_id: UUID, _: CurrentPrincipal) -> dict[str, str]:
        return {"ok": str(project_id)}

    app.include_router(router)
    return app


@pytest.fixture
async def redis(stack: StackEndpoints) -> AsyncIterator[Redis]:
    client = Redis.from_url(stack.redis_url)
    await client.delete(*SHARED_KEYS)
    yield client
    await client.delete(*SHARED_KEYS)
    await client.aclose()


@pytest.fixture
async def limited(api_settings: Settings, redis: Redis) -> AsyncIterator[httpx.AsyncClient]:
    app = limited_app(
        api_settings,
        rate_limit_global_per_min=1000,
        rate_limit_tenant_per_min=5,
        rate_limit_project_per_min=2,
        rate_limit_auth_per_min=2,
    )
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_429(answer: httpx.Response, limit: int, bucket: str) -> None:
    assert answer.status_code == 429, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    body = answer.json()
    assert body["type"] == RATE_LIMITED_TYPE
    assert bucket in body["detail"]
    retry_after = answer.headers["retry-after"]
    assert retry_after.isdigit() and int(retry_after) >= 1
    assert answer.headers["ratelimit-limit"] == str(limit)
    assert answer.headers["ratelimit-remaining"] == "0"
    assert int(answer.headers["ratelimit-reset"]) >= 1


# --- per tenant and per project -------------------------------------------------------------


async def test_tenant_limit_answers_429_after_n_requests(
    limited: httpx.AsyncClient, api_settings: Settings, tenant: Tenant
) -> None:
    auth = bearer(api_settings, tenant.id)
    remaining = []
    for _ in range(5):
        answer = await limited.get("/test-only/ping", headers=auth)
        assert answer.status_code == 200, answer.text
        assert answer.headers["ratelimit-limit"] == "5"
        assert answer.headers["ratelimit-policy"] == "5;w=60"
        remaining.append(int(answer.headers["ratelimit-remaining"]))
    assert remaining == [4, 3, 2, 1, 0]
    assert_429(await limited.get("/test-only/ping", headers=auth), 5, "tenant")


async def test_tenants_do_not_share_a_bucket(
    limited: httpx.AsyncClient, api_settings: Settings, tenant: Tenant
) -> None:
    first, second = bearer(api_settings, tenant.id), bearer(api_settings, uuid4())
    for _ in range(5):
        await limited.get("/test-only/ping", headers=first)
    assert (await limited.get("/test-only/ping", headers=first)).status_code == 429
    answer = await limited.get("/test-only/ping", headers=second)
    assert answer.status_code == 200
    assert answer.headers["ratelimit-remaining"] == "4"


async def test_project_limit_is_per_project_within_the_tenant(
    limited: httpx.AsyncClient, api_settings: Settings, tenant: Tenant, redis: Redis
) -> None:
    auth = bearer(api_settings, tenant.id)
    one, two = uuid4(), uuid4()
    for _ in range(2):
        assert (await limited.get(PROJECT_PING.format(project_id=one), headers=auth)).is_success
    assert_429(await limited.get(PROJECT_PING.format(project_id=one), headers=auth), 2, "project")
    assert (await limited.get(PROJECT_PING.format(project_id=two), headers=auth)).is_success
    # A refusal consumes nothing: the tenant has spent 3 of 5, so two more pass.
    assert (await limited.get("/test-only/ping", headers=auth)).is_success
    assert (await limited.get("/test-only/ping", headers=auth)).is_success
    assert_429(await limited.get("/test-only/ping", headers=auth), 5, "tenant")
    found = await redis.keys(f"{KEY_PREFIX}*{tenant.id}*")
    keys = {key.decode() if isinstance(key, bytes) else key for key in found}
    assert keys == {
        f"{KEY_PREFIX}tenant:{tenant.id}",
        f"{KEY_PREFIX}project:{tenant.id}:{one}",
        f"{KEY_PREFIX}project:{tenant.id}:{two}",
    }
    assert 0 < await redis.pttl(f"{KEY_PREFIX}tenant:{tenant.id}") <= 60_000


async def script_calls(redis: Redis) -> int:
    stats = await redis.info("commandstats")
    return sum(
        int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("evalsha", "eval")
    )


async def test_a_request_is_counted_in_all_its_buckets_by_one_script_call(
    limited: httpx.AsyncClient, api_settings: Settings, tenant: Tenant, redis: Redis
) -> None:
    auth = bearer(api_settings, tenant.id)
    path = PROJECT_PING.format(project_id=uuid4())
    assert (await limited.get(path, headers=auth)).is_success  # the script is loaded
    before = await script_calls(redis)
    answer = await limited.get(path, headers=auth)
    assert answer.is_success
    assert answer.headers["ratelimit-limit"] == "2"  # the project's bucket decided
    assert await script_calls(redis) - before == 1


async def test_unauthenticated_calls_get_401_before_the_tenant_limit(
    limited: httpx.AsyncClient,
) -> None:
    answer = await limited.get("/test-only/ping")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert answer.headers["ratelimit-limit"] == "1000"  # the global bucket still counts


# --- global and auth (middleware) -----------------------------------------------------------


async def test_global_limit_spares_health_checks(api_settings: Settings, redis: Redis) -> None:
    app = limited_app(api_settings, rate_limit_global_per_min=3)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        for path in ["/healthz", "/readyz"] * 4:
            answer = await http.get(path)
            # /readyz may answer 503 when no worker polls (run alone): never 429.
            assert answer.status_code in (200, 503), answer.text
            assert "ratelimit-limit" not in answer.headers
        for _ in range(3):
            assert (await http.get("/test-only/open")).status_code == 200
        assert_429(await http.get("/test-only/open"), 3, "global")
        assert_429(await http.get("/no-such-route"), 3, "global")


async def test_token_endpoint_is_limited_per_client_ip(limited: httpx.AsyncClient) -> None:
    form = {"grant_type": "password", "username": "a@example.com", "password": "guess"}
    for _ in range(2):
        answer = await limited.post(TOKEN_PATH, data={**form, "tenant": "nobody"})
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"] == "invalid_grant"
        assert answer.headers["ratelimit-limit"] == "2"
    assert_429(await limited.post(TOKEN_PATH, data=form), 2, "auth")
    # Other routes from the same address are not held back by the auth bucket.
    assert (await limited.get("/test-only/open")).status_code == 200


# --- Redis down -----------------------------------------------------------------------------


async def test_redis_down_fails_open_except_on_the_token_endpoint(
    api_settings: Settings, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    broken = api_settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{closed_port()}/0"})
    app = limited_app(broken, rate_limit_tenant_per_min=1, rate_limit_auth_per_min=20)
    auth = bearer(api_settings, tenant.id)
    with caplog.at_level(logging.WARNING, logger="api.ratelimit"):
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
            for _ in range(3):
                answer = await http.get("/test-only/ping", headers=auth)
                assert answer.status_code == 200, answer.text
                assert "ratelimit-limit" not in answer.headers
            refused = await http.post(TOKEN_PATH, data={"grant_type": "password"})
    assert refused.status_code == 503
    assert refused.headers["content-type"] == PROBLEM_JSON
    assert refused.json()["type"] == "https://docflow.dev/problems/rate-limiter-unavailable"
    assert int(refused.headers["retry-after"]) >= 1
    warnings = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 1  # one warning per outage window, not one per request


# --- the limiter on its own -----------------------------------------------------------------


async def test_limiter_counts_atomically_and_refusals_consume_nothing(redis: Redis) -> None:
    limiter = RateLimiter(redis)
    strict = Limit("strict", f"{KEY_PREFIX}test:{uuid4()}", 1)
    loose = Limit("loose", f"{KEY_PREFIX}test:{uuid4()}", 5)
    first = await limiter.hit([strict, loose])
    assert first is not None and first.allowed and first.name == "strict"
    refused = await limiter.hit([strict, loose])
    assert refused is not None and not refused.allowed and refused.name == "strict"
    assert 59 <= refused.retry_after_s <= 60
    alone = await limiter.hit([loose])
    assert alone is not None and alone.remaining == 3  # 5 - first - this one
    answers = await asyncio.gather(*(limiter.hit([loose]) for _ in range(10)))
    assert sum(1 for answer in answers if answer and answer.allowed) == 3


async def test_limiter_trips_when_redis_is_down() -> None:
    client = Redis.from_url(f"redis://127.0.0.1:{closed_port()}/0")
    limiter = RateLimiter(client, timeout_s=0.3, cooldown_s=60)
    limit = [Limit("tenant", f"{KEY_PREFIX}tenant:{uuid4()}", 5)]
    with pytest.raises(RateLimiterUnavailable):
        await limiter.hit(limit)
    assert not limiter.available
    started = time.perf_counter()
    with pytest.raises(RateLimiterUnavailable):
        await limiter.hit(limit)
    assert time.perf_counter() - started < 0.1  # no connection attempt while tripped
    assert await limiter.hit([Limit("off", "unused", 0)]) is None  # disabled: no Redis at all
    await client.aclose()
