"""Hostile input over the real API: NUL and control characters, unpaired surrogates, numbers
beyond PostgreSQL's integer, bodies that are not UTF-8. Each is a 4xx that names what is
wrong; none reaches the database or the workflow, and a run given a bad decision goes on."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from api.schemas import MAX_INT
from docflow.settings import Settings
from docflow.storage.models import Tenant
from tests.conftest import bearer

IDEA = "A booking app for small harbours: berths, tides and arrivals, for harbour masters."
HOSTILE = {
    "NUL": "Harbour\u0000Desk",
    "escape": "Harbour \u001b[31mDesk",
    "C1 control": "Harbour \u0085Desk",
}
HUGE = "1208925819614629174706176"  # 2^80
PROBLEM_JSON = "application/problem+json"


def assert_422_naming(answer: httpx.Response, field: str) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    fields = [error["field"] for error in answer.json()["errors"]]
    assert any(name.endswith(field) for name in fields), fields


async def _project(http: httpx.AsyncClient, auth: dict[str, str]) -> str:
    created = await http.post(
        "/api/v1/projects", json={"name": "Harbour Desk", "idea": IDEA}, headers=auth
    )
    assert created.status_code == 201, created.text
    return f"/api/v1/projects/{created.json()['id']}"


@pytest.mark.parametrize("kind", sorted(HOSTILE))
async def test_every_text_field_refuses_unstorable_characters(
    http: httpx.AsyncClient, api_settings: Settings, tenant: Tenant, kind: str
) -> None:
    owner = bearer(api_settings, tenant.id, "owner")
    text = HOSTILE[kind]
    bodies: list[tuple[str, str, dict[str, Any], str]] = [
        ("POST", "/api/v1/projects", {"name": text, "idea": IDEA}, "name"),
        ("POST", "/api/v1/projects", {"name": "Harbour", "idea": f"{IDEA} {text}"}, "idea"),
        ("POST", "/api/v1/projects", {"name": "H", "idea": IDEA, "constraints": text},
         "constraints"),
        ("POST", "/api/v1/members", {"email": f"a{text}@example.com", "role": "viewer"}, "email"),
    ]  # fmt: skip
    for method, path, body, field in bodies:
        assert_422_naming(await http.request(method, path, json=body, headers=owner), field)
    base = await _project(http, owner)
    patched = await http.patch(base, json={"idea": f"{IDEA} {text}"}, headers=owner)
    assert_422_naming(patched, "idea")
    decided = await http.post(
        f"{base}/runs/current/decisions",
        json={"step": "description", "action": "revise", "feedback": text},
        headers=owner,
    )
    assert_422_naming(decided, "feedback")
    search = await http.get(f"{base}/search", params={"q": text}, headers=owner)
    assert_422_naming(search, "q")


async def test_an_unpaired_surrogate_and_a_body_that_is_not_utf8_are_422(
    http: httpx.AsyncClient, api_settings: Settings, tenant: Tenant
) -> None:
    owner = {**bearer(api_settings, tenant.id, "owner"), "Content-Type": "application/json"}
    surrogate = b'{"name": "Harbour \\ud800", "idea": "' + IDEA.encode() + b'"}'
    assert_422_naming(await http.post("/api/v1/projects", content=surrogate, headers=owner), "name")
    for path, method in (("/api/v1/projects", "POST"), ("/api/v1/members", "POST")):
        answer = await http.request(method, path, content=b'{"name": "\xff\xfe"}', headers=owner)
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == PROBLEM_JSON


async def test_numbers_beyond_postgres_integers_are_422(
    http: httpx.AsyncClient, api_settings: Settings, tenant: Tenant
) -> None:
    owner = bearer(api_settings, tenant.id, "owner")
    base = await _project(http, owner)
    document = "00000000-0000-4000-8000-000000000000"
    for method, path, field in (
        ("GET", f"{base}/documents/{document}/versions/{HUGE}", "version"),
        ("POST", f"{base}/documents/{document}/versions/{HUGE}/activate", "version"),
        ("GET", f"{base}/documents/{document}/diff?from=1&to={HUGE}", "to"),
        ("GET", f"{base}/documents/{document}/diff?from={MAX_INT + 1}&to=1", "from"),
        ("GET", f"{base}/documents/{document}/versions/0", "version"),
        ("GET", f"{base}/events?last_event_id={HUGE}", "last_event_id"),
    ):
        assert_422_naming(await http.request(method, path, headers=owner), field)
    decided = await http.post(
        f"{base}/runs/current/decisions",
        json={"step": "description", "action": "approve", "version": int(HUGE)},
        headers=owner,
    )
    assert_422_naming(decided, "version")


async def test_a_sign_in_with_a_nul_is_an_oauth_error_not_a_500(http: httpx.AsyncClient) -> None:
    answer = await http.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "a\u0000@example.com",
              "password": "correct horse battery", "tenant": "acme"},
    )  # fmt: skip
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_request"


async def test_a_bad_decision_at_an_open_gate_is_refused_and_the_run_goes_on(
    http: httpx.AsyncClient, api_settings: Settings, tenant: Tenant
) -> None:
    editor = bearer(api_settings, tenant.id, "editor")
    base = await _project(http, editor)
    assert (await http.post(f"{base}/runs", json={}, headers=editor)).status_code == 202
    state = await _gate(http, base, editor)
    document_id = state["gate"]["versions"][0]["document_id"]
    edit = {"step": "description", "action": "edit", "document_id": document_id,
            "content": "# About\n\nOur words\u0000, with a NUL.\n"}  # fmt: skip
    assert_422_naming(
        await http.post(f"{base}/runs/current/decisions", json=edit, headers=editor), "content"
    )
    approved = await http.post(
        f"{base}/runs/current/decisions",
        json={"step": "description", "action": "approve", "version": 1},
        headers=editor,
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] != "failed"


async def _gate(http: httpx.AsyncClient, base: str, auth: dict[str, str]) -> Any:
    async with asyncio.timeout(60):
        while True:
            state = (await http.get(f"{base}/runs/current", headers=auth)).json()
            assert state.get("status") != "failed", state
            if state.get("gate"):
                return state
            await asyncio.sleep(0.1)
