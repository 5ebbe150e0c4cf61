"""Project memory through the flow and the API: accepted versions are indexed, searched
within their tenant and project only, and purged with the project."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from temporalio.client import Client, WorkflowExecutionStatus

from docflow import admin
from docflow.contracts import TenantScope
from docflow.memory.runtime import open_store
from docflow.settings import Settings
from docflow.storage.models import Tenant
from tests.conftest import bearer

IDEA = "A mobile app for community gardens: members book raised-bed plots and share tools."


async def _finished_project(http: httpx.AsyncClient, auth: dict[str, str]) -> str:
    body = {"name": "Plot Share", "idea": IDEA}
    project = (await http.post("/api/v1/projects", json=body, headers=auth)).json()
    base = f"/api/v1/projects/{project['id']}"
    await http.post(f"{base}/runs", json={"auto_approve": True}, headers=auth)
    for _ in range(600):
        state = (await http.get(f"{base}/runs/current", headers=auth)).json()
        if state["status"] == "completed":
            return base
        await asyncio.sleep(0.1)
    raise AssertionError("the run did not complete within 60 s")


def _scope_of(tenant: Tenant, base: str) -> TenantScope:
    return TenantScope(tenant_id=tenant.id, project_id=base.rsplit("/", 1)[1])


async def _search(http: httpx.AsyncClient, base: str, auth: dict[str, str], q: str) -> Any:
    answer = await http.get(f"{base}/search", params={"q": q, "limit": 5}, headers=auth)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_accepted_documents_are_searchable_within_their_project(
    http: httpx.AsyncClient, api_settings: Settings, tenant: Tenant, engine: Any, client: Client
) -> None:
    auth = bearer(api_settings, tenant.id, "editor")
    base = await _finished_project(http, auth)
    # Memory catches up after the run, at a lower priority (ADR-014): wait for it.
    await _indexing_settled(client, _scope_of(tenant, base))
    hits = await _search(http, base, auth, "who books the raised-bed plots?")
    assert hits and hits[0]["score"] >= hits[-1]["score"]
    assert {hit["path"] for hit in hits} <= {
        d["path"] for d in (await http.get(f"{base}/documents", headers=auth)).json()
    }
    state = (await http.get(f"{base}/runs/current", headers=auth)).json()
    # Every accepted step was handed to memory; `memory_indexed` is seen only when the
    # indexing ended while the run was still open (ADR-014), so it may be missing.
    indexing = [e["step"] for e in state["events"] if e["type"] == "memory_indexing"]
    assert len(indexing) == 4, state["events"]

    other = await admin.ensure_tenant(engine, f"other-{tenant.slug}", "Other")
    other_auth = bearer(api_settings, other.id, "editor")
    other_base = await _finished_project(http, other_auth)
    other_hits = await _search(http, other_base, other_auth, "who books the raised-bed plots?")
    ours = {hit["version_id"] for hit in hits}
    assert ours.isdisjoint({hit["version_id"] for hit in other_hits})
    assert (
        await http.get(f"{base}/search", params={"q": "x"}, headers=other_auth)
    ).status_code == 404


async def test_deleting_a_project_purges_its_memory(
    http: httpx.AsyncClient, api_settings: Settings, tenant: Tenant, client: Client
) -> None:
    owner = bearer(api_settings, tenant.id, "owner")
    base = await _finished_project(http, owner)
    scope = _scope_of(tenant, base)
    await _indexing_settled(client, scope)
    store = open_store(api_settings)
    assert await asyncio.to_thread(store.count, scope) > 0
    assert (await http.delete(base, headers=owner)).status_code == 204
    for _ in range(150):
        if await asyncio.to_thread(store.count, scope) == 0:
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError("the deleted project's memory was not purged within 30 s")
    # Indexing that outlived the run (IndexVersions children) leaves nothing behind either.
    await _indexing_settled(client, scope)
    assert await asyncio.to_thread(store.count, scope) == 0


async def _indexing_settled(client: Client, scope: TenantScope) -> None:
    query = f"WorkflowType = 'IndexVersions' AND ProjectId = '{scope.project_id}'"
    async with asyncio.timeout(60):
        while True:
            statuses = [w.status async for w in client.list_workflows(query)]
            if statuses and WorkflowExecutionStatus.RUNNING not in statuses:
                return
            await asyncio.sleep(0.2)
