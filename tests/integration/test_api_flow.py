"""The whole flow through the HTTP API, as a client would drive it."""

from __future__ import annotations

import asyncio
import io
import zipfile
from uuid import UUID

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.downloads import DownloadGrant, sign_download
from docflow.contracts import STEPS, TenantScope
from docflow.memory.runtime import open_store
from docflow.settings import Settings
from docflow.storage.db import tenant_session
from docflow.storage.models import Tenant
from tests.api_helpers import Auth, create_project, decide, poll, wait_for_gate
from tests.conftest import bearer
from tests.flow_helpers import run_sql


async def test_full_flow_through_the_api(
    http: httpx.AsyncClient, api_settings: Settings, tenant: Tenant
) -> None:
    auth = bearer(api_settings, tenant.id, "editor")
    base = await create_project(http, auth)
    started = await http.post(f"{base}/runs", json={}, headers=auth)
    assert started.status_code == 202, started.text
    assert (await http.post(f"{base}/runs", json={}, headers=auth)).status_code == 409

    await wait_for_gate(http, base, auth, "description")
    await decide(http, base, auth, step="description", action="approve", version=1)
    gate = (await wait_for_gate(http, base, auth, "architecture"))["gate"]
    revised = await decide(
        http, base, auth, step="architecture", action="revise", feedback="Use Go instead of Python"
    )
    assert revised["gate"]["versions"][0]["version"] == 2
    await decide(http, base, auth, step="architecture", action="approve")
    plan = (await wait_for_gate(http, base, auth, "plan"))["gate"]["versions"][0]
    edited = await decide(
        http, base, auth, step="plan", action="edit", document_id=plan["document_id"],
        content="# Plan\n\nWritten by hand.\n", version=1,
    )  # fmt: skip
    assert edited["gate"]["versions"][0]["version"] == 2
    await decide(http, base, auth, step="plan", action="approve")
    await wait_for_gate(http, base, auth, "standards")
    done = await decide(http, base, auth, step="standards", action="approve")
    assert done["status"] == "completed"

    architecture_id = gate["versions"][0]["document_id"]
    await _check_documents(http, base, auth, architecture_id)
    scope = TenantScope(tenant_id=tenant.id, project_id=UUID(base.rsplit("/", 1)[1]))
    await _wait_until_memory_holds(api_settings, scope, "docs/architecture.md", version=1)
    await _check_export(http, base, auth, api_settings)
    await _regenerate_stale_documents(http, base, auth)


async def _regenerate_stale_documents(http: httpx.AsyncClient, base: str, auth: Auth) -> None:
    """After a rollback on a completed run, restart rewrites only the stale steps."""
    before = (await http.get(f"{base}/runs/current", headers=auth)).json()["events"]
    restarted = await http.post(f"{base}/runs/current/restart", headers=auth)
    assert restarted.status_code == 202, restarted.text
    plan = await wait_for_gate(http, base, auth, "plan")
    assert plan["events"][0]["seq"] == before[-1]["seq"] + 1  # ids continue across runs
    skipped = [e["step"] for e in plan["events"] if e["type"] == "step_skipped"]
    assert skipped == ["description", "architecture"]
    await decide(http, base, auth, step="plan", action="approve")
    await wait_for_gate(http, base, auth, "standards")
    done = await decide(http, base, auth, step="standards", action="approve")
    assert done["status"] == "completed"
    documents = (await http.get(f"{base}/documents", headers=auth)).json()
    assert not [document["path"] for document in documents if document["stale"]]
    again = await http.post(f"{base}/runs/current/restart", headers=auth)
    assert again.status_code == 409 and "nothing to redo" in again.text


async def _wait_until_memory_holds(
    settings: Settings, scope: TenantScope, path: str, version: int
) -> None:
    """After a rollback, project memory holds the accepted (older) version of ``path``."""
    store = open_store(settings)
    for _ in range(150):
        hits = await asyncio.to_thread(store.search, scope, "containers and components", 50)
        held = {hit.version for hit in hits if hit.path == path}
        if held == {version}:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"memory holds versions {held} of {path}, not {version}")


async def _check_documents(
    http: httpx.AsyncClient, base: str, auth: dict[str, str], architecture_id: str
) -> None:
    documents = (await http.get(f"{base}/documents", headers=auth)).json()
    by_path = {document["path"]: document for document in documents}
    assert by_path["docs/architecture.md"]["accepted_version"] == 2
    versions = (await http.get(f"{base}/documents/{architecture_id}/versions", headers=auth)).json()
    assert [version["version"] for version in versions] == [1, 2]
    second = (await http.get(f"{base}/documents/{architecture_id}/versions/2", headers=auth)).json()
    assert "Go" in second["content_md"]
    diff = (
        await http.get(f"{base}/documents/{architecture_id}/diff?from=1&to=2", headers=auth)
    ).json()
    assert diff["unified"].startswith("--- docs/architecture.md@v1")
    assert {line["op"] for line in diff["lines"]} >= {"equal", "insert", "delete"}
    activated = await http.post(
        f"{base}/documents/{architecture_id}/versions/1/activate", headers=auth
    )
    assert activated.status_code == 200, activated.text
    assert activated.json()["downstream_marked_stale"] >= 1
    listed = (await http.get(f"{base}/documents/{architecture_id}/versions", headers=auth)).json()
    assert listed[0]["accepted"] and listed[0]["meta"]["activated"]["instead_of"] == 2
    stale = {
        d["path"]: d["stale"] for d in (await http.get(f"{base}/documents", headers=auth)).json()
    }
    assert stale["docs/specs.md"] is True and stale["docs/about.md"] is False


async def _check_export(
    http: httpx.AsyncClient, base: str, auth: dict[str, str], settings: Settings
) -> None:
    requested = await http.post(f"{base}/exports", headers=auth)
    assert requested.status_code == 202, requested.text
    export_url = f"{base}/exports/{requested.json()['id']}"
    status = await poll(http, export_url, auth, lambda body: body["status"] != "pending")
    assert status["status"] == "ready", status
    download = await http.get(status["download_url"])
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        assert "harbour-desk/docs/architecture.md" in archive.namelist()
        zipped_jira = archive.read("harbour-desk/tracker/jira.csv").decode()
    jira = await http.get(f"{base}/tracker/jira.csv", headers=auth)
    assert jira.status_code == 200 and jira.headers["content-type"].startswith("text/csv")
    assert jira.text == zipped_jira  # the API serves the file the package holds
    github = (await http.get(f"{base}/tracker/github-issues.json", headers=auth)).json()
    assert github["issues"] and github["milestones"]
    assert (await http.get(f"{base}/tracker/trello.csv", headers=auth)).status_code == 422
    matrix = (await http.get(f"{base}/traceability", headers=auth)).json()
    assert matrix["coverage"]["percent"] == status["manifest"]["traceability"]["percent"]
    assert matrix["content_md"].startswith("# Harbour Desk: Traceability")
    tampered = status["download_url"][:-3] + "abc"
    assert (await http.get(tampered)).status_code == 403
    expired_settings = settings.model_copy(update={"download_token_ttl_s": -5})
    grant = DownloadGrant(
        tenant_id=UUID(status["manifest"]["tenant_id"]),
        project_id=UUID(status["manifest"]["project"]["id"]),
        export_id=UUID(status["id"]),
    )
    expired, _ = sign_download(expired_settings, grant)
    answer = await http.get("/api/v1/exports/download", params={"token": expired})
    assert answer.status_code == 403


async def _project_at_first_gate(http: httpx.AsyncClient, auth: Auth) -> str:
    """A new project whose run waits at the description gate: its base path."""
    base = await create_project(http, auth)
    await http.post(f"{base}/runs", json={}, headers=auth)
    await wait_for_gate(http, base, auth, "description")
    return base


async def test_decisions_answer_409_when_stale_and_422_when_invalid(
    http: httpx.AsyncClient, api_settings: Settings, tenant: Tenant
) -> None:
    auth = bearer(api_settings, tenant.id, "editor")
    base = await _project_at_first_gate(http, auth)
    cases = [
        ({"step": "plan", "action": "approve"}, 409, "wrong step"),
        ({"step": "description", "action": "approve", "version": 9}, 409, "stale version"),
        ({"step": "description", "action": "revise", "feedback": " "}, 422, "feedback"),
        ({"step": "description", "action": "shout"}, 422, ""),
        ({"step": "description", "action": "approve", "colour": "red"}, 422, ""),
    ]
    for body, code, words in cases:
        answer = await http.post(f"{base}/runs/current/decisions", json=body, headers=auth)
        assert answer.status_code == code, (body, answer.text)
        assert words in answer.text
    cancelled = await http.post(f"{base}/runs/current/cancel", headers=auth)
    assert cancelled.status_code == 202
    await poll(http, f"{base}/runs/current", auth, lambda body: body["status"] == "cancelled")
    again = await http.post(f"{base}/runs/current/cancel", headers=auth)
    assert again.status_code == 409 and "already ended" in again.text
    unknown_export = await http.get(f"{base}/exports/{UUID(int=1)}", headers=auth)
    assert unknown_export.status_code == 404
    restarted = await http.post(f"{base}/runs/current/restart", headers=auth)
    assert restarted.status_code == 202, restarted.text


async def test_a_decision_retried_with_its_idempotency_key_is_taken_once(
    http: httpx.AsyncClient, api_settings: Settings, tenant: Tenant
) -> None:
    auth = bearer(api_settings, tenant.id, "editor")
    base = await _project_at_first_gate(http, auth)
    revise = {"step": "description", "action": "revise", "feedback": "Name the harbour."}
    keyed = {**auth, "Idempotency-Key": "revise-1"}
    first = await http.post(f"{base}/runs/current/decisions", json=revise, headers=keyed)
    assert first.status_code == 200, first.text
    assert first.json()["gate"]["versions"][0]["version"] == 2
    # The client lost the answer and sends it again: no third version is written.
    again = await http.post(f"{base}/runs/current/decisions", json=revise, headers=keyed)
    assert again.status_code == 200, again.text
    state = (await http.get(f"{base}/runs/current", headers=auth)).json()
    assert state["gate"]["versions"][0]["version"] == 2
    assert [e["type"] for e in state["events"]].count("decision") == 1
    # Without the key the same words are a new decision, as before.
    other = {**auth, "Idempotency-Key": "revise-2"}
    answer = await http.post(f"{base}/runs/current/decisions", json=revise, headers=other)
    assert answer.json()["gate"]["versions"][0]["version"] == 3
    await http.post(f"{base}/runs/current/cancel", headers=auth)


@pytest.mark.parametrize("role", ["viewer"])
async def test_a_viewer_reads_but_cannot_start(
    http: httpx.AsyncClient, api_settings: Settings, tenant: Tenant, role: str
) -> None:
    base = await create_project(http, bearer(api_settings, tenant.id, "editor"))
    viewer = bearer(api_settings, tenant.id, role)
    assert (await http.get(base, headers=viewer)).status_code == 200
    assert (await http.post(f"{base}/runs", json={}, headers=viewer)).status_code == 403


async def test_another_tenant_gets_404(
    http: httpx.AsyncClient, api_settings: Settings, tenant: Tenant
) -> None:
    base = await create_project(http, bearer(api_settings, tenant.id, "owner"))
    stranger = bearer(api_settings, UUID(int=7), "owner")
    assert (await http.get(base, headers=stranger)).status_code == 404
    assert (await http.delete(base, headers=stranger)).status_code == 404
    assert (await http.get(base)).status_code == 401


async def test_deleting_a_project_removes_its_documents_versions_and_exports(
    http: httpx.AsyncClient, api_settings: Settings, tenant: Tenant, engine: AsyncEngine
) -> None:
    owner = bearer(api_settings, tenant.id, "owner")
    base = await create_project(http, owner)
    await http.post(f"{base}/runs", json={"auto_approve": True}, headers=owner)
    await poll(http, f"{base}/runs/current", owner, lambda body: body["status"] == "completed")
    project_id = base.rsplit("/", 1)[1]
    assert await _rows(engine, tenant.id, project_id) > 0
    assert (await http.delete(base, headers=owner)).status_code == 204
    assert (await http.get(base, headers=owner)).status_code == 404
    assert await _rows(engine, tenant.id, project_id) == 0


async def _rows(engine: AsyncEngine, tenant_id: UUID, project_id: str) -> int:
    """Documents, versions, agent runs and exports still stored for the project."""
    async with tenant_session(engine, tenant_id) as session:
        counts = [
            (
                await run_sql(
                    session, f"select count(*) from {table} where project_id = :p", p=project_id
                )
            ).scalar_one()
            for table in ("documents", "document_versions", "agent_runs", "exports")
        ]
    return int(sum(counts))


async def test_a_run_is_estimated_before_it_starts(
    http: httpx.AsyncClient, api_settings: Settings, tenant: Tenant
) -> None:
    auth = bearer(api_settings, tenant.id, "viewer")
    editor = bearer(api_settings, tenant.id, "editor")
    base = await create_project(http, editor)
    answer = await http.get(f"{base}/runs/estimate", headers=auth)
    assert answer.status_code == 200
    estimate = answer.json()
    assert [step["step"] for step in estimate["steps"]] == [s.value for s in STEPS]
    assert estimate["calls"] == sum(step["calls"] for step in estimate["steps"]) >= 30
    assert estimate["tokens_out_max"] > 10_000 and estimate["tokens_in"] > estimate["calls"] * 400
    longer = await http.patch(base, json={"idea": "A booking app. " * 400}, headers=editor)
    assert longer.status_code == 200
    again = (await http.get(f"{base}/runs/estimate", headers=auth)).json()
    assert again["tokens_in"] > estimate["tokens_in"] + estimate["calls"] * 1000
    assert again["tokens_out_max"] == estimate["tokens_out_max"]  # the budgets, not the idea
