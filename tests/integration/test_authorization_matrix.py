"""Every route in openapi.json, called as anonymous, viewer, editor, owner and another
tenant's owner. A route without a row here fails the test: new routes must say who may
call them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from temporalio.client import Client

from api.downloads import DownloadGrant, sign_download
from api.openapi import COMMITTED
from docflow import admin
from docflow.settings import Settings
from docflow.storage.models import Tenant
from tests.conftest import bearer
from tests.flow_helpers import start

ROLES = ("viewer", "editor", "owner")


@dataclass(frozen=True)
class Rule:
    needs: str | None  # the least role, or None for public routes
    project_scoped: bool = True
    fresh_project: bool = False  # destructive: give the call a project of its own


RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): Rule(None, project_scoped=False),
    ("GET", "/readyz"): Rule(None, project_scoped=False),
    ("POST", "/api/v1/auth/token"): Rule(None, project_scoped=False),
    ("POST", "/api/v1/auth/revoke"): Rule(None, project_scoped=False),
    ("GET", "/api/v1/exports/download"): Rule(None, project_scoped=False),
    ("GET", "/api/v1/members"): Rule("viewer", project_scoped=False),
    ("POST", "/api/v1/members"): Rule("owner", project_scoped=False),
    ("DELETE", "/api/v1/members/{user_id}"): Rule("owner", project_scoped=False),
    ("GET", "/api/v1/projects"): Rule("viewer", project_scoped=False),
    ("POST", "/api/v1/projects"): Rule("editor", project_scoped=False),
    ("GET", "/api/v1/projects/{project_id}"): Rule("viewer"),
    ("PATCH", "/api/v1/projects/{project_id}"): Rule("editor"),
    ("DELETE", "/api/v1/projects/{project_id}"): Rule("owner", fresh_project=True),
    ("GET", "/api/v1/projects/{project_id}/documents"): Rule("viewer"),
    ("GET", "/api/v1/projects/{project_id}/documents/{document_id}/diff"): Rule("viewer"),
    ("GET", "/api/v1/projects/{project_id}/documents/{document_id}/versions"): Rule("viewer"),
    ("GET", "/api/v1/projects/{project_id}/documents/{document_id}/versions/{version}"): Rule(
        "viewer"
    ),
    (
        "POST",
        "/api/v1/projects/{project_id}/documents/{document_id}/versions/{version}/activate",
    ): Rule("editor"),
    ("GET", "/api/v1/projects/{project_id}/events"): Rule("viewer"),
    ("GET", "/api/v1/projects/{project_id}/search"): Rule("viewer"),
    ("POST", "/api/v1/projects/{project_id}/exports"): Rule("editor"),
    ("GET", "/api/v1/projects/{project_id}/exports/{export_id}"): Rule("viewer"),
    ("GET", "/api/v1/projects/{project_id}/traceability"): Rule("viewer"),
    ("GET", "/api/v1/projects/{project_id}/questions"): Rule("viewer"),
    ("PUT", "/api/v1/projects/{project_id}/questions"): Rule("editor"),
    ("GET", "/api/v1/projects/{project_id}/tracker/{name}"): Rule("viewer"),
    ("POST", "/api/v1/projects/{project_id}/runs"): Rule("editor"),
    ("GET", "/api/v1/projects/{project_id}/runs/estimate"): Rule("viewer"),
    ("GET", "/api/v1/projects/{project_id}/runs/current"): Rule("viewer"),
    ("POST", "/api/v1/projects/{project_id}/runs/current/cancel"): Rule("editor"),
    ("POST", "/api/v1/projects/{project_id}/runs/current/decisions"): Rule("editor"),
    ("POST", "/api/v1/projects/{project_id}/runs/current/restart"): Rule("editor"),
}

BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/projects"): {"name": "Matrix", "idea": "An idea long enough to pass."},
    ("PATCH", "/api/v1/projects/{project_id}"): {"name": "Matrix renamed"},
    ("POST", "/api/v1/members"): {"email": "member@example.org", "role": "viewer"},
    ("POST", "/api/v1/projects/{project_id}/runs"): {},
    ("PUT", "/api/v1/projects/{project_id}/questions"): {
        "answers": [{"question_id": "Q-001", "answer": "The harbour office."}]
    },
    ("POST", "/api/v1/projects/{project_id}/runs/current/decisions"): {
        "step": "description",
        "action": "approve",
    },
}


def _operations() -> list[tuple[str, str]]:
    paths = json.loads(COMMITTED.read_text())["paths"]
    return sorted((method.upper(), path) for path, ops in paths.items() for method in ops)


def test_every_route_has_a_rule() -> None:
    assert set(_operations()) == set(RULES), "add a Rule for each new route (and remove old ones)"


@dataclass
class World:
    tenant: Tenant
    params: dict[str, str]


@pytest.fixture(scope="module")
async def world(client: Client, api_settings: Settings, api_worker: object, engine: Any) -> World:
    """A project with a finished run, documents, versions and an export (one per module:
    the calls below change nothing an authorization check depends on)."""
    tenant = await admin.ensure_tenant(engine, f"matrix-{uuid4().hex[:8]}", "Matrix")
    project = await admin.create_project(
        engine, tenant.id, name="Matrix", idea="A harbour booking app for harbour masters."
    )
    handle = await start(client, api_settings, project, auto_approve=True)
    result = await handle.result()
    about = result.accepted[next(iter(result.accepted))][0]
    params = {
        "project_id": str(project.id),
        "document_id": str(about.document_id),
        "version": "1",
        "export_id": str(result.export_id),
        "user_id": str(uuid4()),
        "name": "jira.csv",
        "download_token": sign_download(
            api_settings,
            DownloadGrant(tenant_id=tenant.id, project_id=project.id, export_id=result.export_id),
        )[0],
    }
    return World(tenant=tenant, params=params)


async def _fresh_project(http: httpx.AsyncClient, settings: Settings, tenant_id: UUID) -> str:
    created = await http.post(
        "/api/v1/projects",
        json={"name": "Disposable", "idea": "A project that will be deleted."},
        headers=bearer(settings, tenant_id, "owner"),
    )
    return str(created.json()["id"])


async def _call(
    http: httpx.AsyncClient, method: str, path: str, params: dict[str, str], headers: Any
) -> int:
    url = path.format(**params)
    query = {"from": "1", "to": "1"} if url.endswith("/diff") else {}
    if url.endswith("/search"):
        query = {"q": "who uses it"}
    if path == "/api/v1/exports/download":
        query = {"token": params["download_token"]}  # the signed link is the credential
    if path.endswith("/events"):
        async with http.stream("GET", url, headers=headers, params={"last_event_id": 10**6}) as r:
            return r.status_code
    body = BODIES.get((method, path))
    answer = await http.request(method, url, params=query, json=body, headers=headers)
    return answer.status_code


@pytest.mark.parametrize(("method", "path"), sorted(RULES))
async def test_authorization(
    http: httpx.AsyncClient,
    api_settings: Settings,
    world: World,
    engine: Any,
    method: str,
    path: str,
) -> None:
    rule = RULES[(method, path)]
    stranger = await admin.ensure_tenant(engine, f"stranger-{uuid4().hex[:8]}", "Stranger")
    callers = {role: bearer(api_settings, world.tenant.id, role) for role in ROLES}
    callers |= {"anonymous": {}, "stranger": bearer(api_settings, stranger.id, "owner")}
    for caller, headers in callers.items():
        params = dict(world.params)
        if rule.fresh_project:
            params["project_id"] = await _fresh_project(http, api_settings, world.tenant.id)
        code = await _call(http, method, path, params, headers)
        assert _allowed(rule, caller, code), f"{caller}: {method} {path} answered {code}"


def _allowed(rule: Rule, caller: str, code: int) -> bool:
    """Whether ``code`` is the right authorization outcome for this caller."""
    let_through = code not in (401, 403) and (code != 404 or not rule.project_scoped)
    if rule.needs is None:
        return let_through
    if caller == "anonymous":
        return code == 401
    if caller == "stranger":
        return code == 404 if rule.project_scoped else let_through
    if ROLES.index(caller) < ROLES.index(rule.needs):
        return code == 403
    return let_through
