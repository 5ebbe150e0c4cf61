"""Quotas: tokens per tenant per month in Redis, checked before runs and before each step;
at most K concurrent runs per tenant. They block, and they recover."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowFailureError

from api.app import create_app
from docflow.embedded import StackEndpoints
from docflow.quotas import Meter, Quotas, month_of, quota_key
from docflow.settings import Settings
from docflow.storage.models import Project, Tenant
from tests.conftest import bearer
from tests.flow_helpers import start, state_of
from tests.servers import serve
from worker.main import build_worker


@pytest.fixture
async def redis(stack: StackEndpoints) -> AsyncIterator[Redis]:
    client = Redis.from_url(stack.redis_url)
    yield client
    await client.aclose()


async def _post_run(http: httpx.AsyncClient, auth: dict[str, str], name: str) -> httpx.Response:
    body = {"name": name, "idea": "A booking app for small harbours and their berths."}
    project = (await http.post("/api/v1/projects", json=body, headers=auth)).json()
    return await http.post(f"/api/v1/projects/{project['id']}/runs", json={}, headers=auth)


async def test_an_exhausted_quota_blocks_new_runs_until_it_recovers(
    api_settings: Settings, api_worker: Any, tenant: Tenant, redis: Redis
) -> None:
    settings = api_settings.model_copy(update={"quota_llm_tokens_per_month": 100})
    auth = bearer(settings, tenant.id, "editor")
    key = quota_key(tenant.id, Meter.LLM_TOKENS, month_of())
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as http:
        await redis.set(key, 150)
        refused = await _post_run(http, auth, "Over quota")
        assert refused.status_code == 429
        assert "quota exceeded" in refused.json()["detail"]
        await redis.delete(key)
        assert (await _post_run(http, auth, "Back in quota")).status_code == 202


async def test_a_step_over_quota_fails_with_its_reason(
    client: Client, engine: AsyncEngine, settings: Settings, project: Project, redis: Redis
) -> None:
    limited = settings.model_copy(update={"quota_embedding_tokens_per_month": 10})
    await redis.set(quota_key(project.tenant_id, Meter.EMBEDDING_TOKENS, month_of()), 10)
    async with build_worker(client, engine, limited):
        handle = await start(client, limited, project)
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        state = await state_of(handle)
    assert state.error is not None and "quota exceeded" in state.error
    assert state.events[-1].type == "run_failed"


async def test_usage_is_recorded(
    client: Client, engine: AsyncEngine, settings: Settings, project: Project, redis: Redis
) -> None:
    quotas = Quotas(redis, settings)
    async with build_worker(client, engine, settings):
        await (await start(client, settings, project, auto_approve=True)).result()
        for _ in range(300):  # memory is indexed beside the flow (ADR-014): it may end later
            if await quotas.used(project.tenant_id, Meter.EMBEDDING_TOKENS) > 0:
                break
            await asyncio.sleep(0.2)
    assert await quotas.used(project.tenant_id, Meter.EMBEDDING_TOKENS) > 0
    # the offline writer is no LLM: it reports no tokens
    assert await quotas.used(project.tenant_id, Meter.LLM_TOKENS) == 0


async def test_at_most_k_runs_at_once_per_tenant(
    api_settings: Settings, api_worker: Any, tenant: Tenant, client: Client
) -> None:
    settings = api_settings.model_copy(update={"max_concurrent_runs_per_tenant": 1})
    auth = bearer(settings, tenant.id, "editor")
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await _post_run(http, auth, "First")).status_code == 202
        query = (
            "WorkflowType = 'ProjectFlow' AND ExecutionStatus = 'Running' "
            f"AND TenantId = '{tenant.id}'"
        )
        for _ in range(100):  # visibility is eventually consistent
            if (await client.count_workflows(query)).count >= 1:
                break
            await asyncio.sleep(0.1)
        second = await _post_run(http, auth, "Second")
        assert second.status_code == 429
        assert "at most 1 at once" in second.json()["detail"]
