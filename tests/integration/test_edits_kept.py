"""A person's edit is never lost when an agent rewrites the document (activities.edits):
not by a revision asked for after the edit, not by regenerating after a rollback."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import httpx

from docflow.settings import Settings
from docflow.storage.models import Tenant
from tests.api_helpers import Auth, create_project, decide, poll, wait_for_gate
from tests.conftest import bearer

OWN_SECTION = "\n## Our own words\n\nKept by hand through every rewrite.\n"
EDITED_LINE = "EDITED BY HAND: this line was also rewritten by the agent."
FEEDBACK = "Use Go instead of Python"


async def _version(http: httpx.AsyncClient, base: str, auth: Auth, ref: dict[str, Any]) -> Any:
    url = f"{base}/documents/{ref['document_id']}/versions/{ref['version']}"
    return (await http.get(url, headers=auth)).json()


def _edited(content: str) -> str:
    """The agent's text with a section added and a line the Go revision rewrites changed."""
    lines = content.splitlines()
    target = next(i for i, line in enumerate(lines) if "Python" in line and "|" not in line)
    lines[target] = EDITED_LINE
    return "\n".join(lines) + "\n" + OWN_SECTION


async def test_an_edit_survives_a_revision_and_a_regenerate(
    http: httpx.AsyncClient, api_settings: Settings, tenant: Tenant
) -> None:
    auth = bearer(api_settings, tenant.id, "editor")
    base = await create_project(http, auth)
    assert (await http.post(f"{base}/runs", json={}, headers=auth)).status_code == 202
    await wait_for_gate(http, base, auth, "description")
    await decide(http, base, auth, step="description", action="revise", feedback="Add tides.")
    await decide(http, base, auth, step="description", action="approve")

    gate = (await wait_for_gate(http, base, auth, "architecture"))["gate"]
    first = gate["versions"][0]
    agent_text = (await _version(http, base, auth, first))["content_md"]
    edited = await decide(
        http, base, auth, step="architecture", action="edit", document_id=first["document_id"],
        content=_edited(agent_text), version=first["version"],
    )  # fmt: skip
    edit_ref = edited["gate"]["versions"][0]
    assert (await _version(http, base, auth, edit_ref))["meta"]["edited_from"] == 1

    revised = await decide(
        http, base, auth, step="architecture", action="revise", feedback=FEEDBACK
    )
    merged_ref = revised["gate"]["versions"][0]
    merged = await _version(http, base, auth, merged_ref)
    assert merged["source"] == "merge" and merged_ref["version"] == 4
    assert merged["meta"]["merge"] | {"conflicts": None} == {
        "agent_version": 3, "edit_version": 2, "base_version": 1, "conflicts": None,
    }  # fmt: skip
    assert OWN_SECTION.strip() in merged["content_md"]
    agent_revision = (await _version(http, base, auth, {**merged_ref, "version": 3}))["content_md"]
    assert "Go" in agent_revision and OWN_SECTION.strip() not in agent_revision
    [conflict] = merged["meta"]["merge"]["conflicts"]
    ours = merged["content_md"].splitlines()[
        conflict["line"] : conflict["line"] + conflict["lines"]
    ]
    start, size = conflict["theirs_line"], conflict["theirs_lines"]
    theirs = agent_revision.splitlines()[start : start + size]
    assert EDITED_LINE in ours and EDITED_LINE not in theirs and theirs

    for step in ("architecture", "plan", "standards"):
        await wait_for_gate(http, base, auth, step)
        await decide(http, base, auth, step=step, action="approve")
    await _roll_back_description_and_regenerate(http, base, auth)
    await _check_the_package_has_the_edit(http, base, auth)


async def _roll_back_description_and_regenerate(
    http: httpx.AsyncClient, base: str, auth: Auth
) -> None:
    """Description v1 made active: the architecture is stale, and its rewrite keeps the
    edit that was accepted (carried from the accepted merged version)."""
    documents = (await http.get(f"{base}/documents", headers=auth)).json()
    about = next(document for document in documents if document["path"] == "docs/about.md")
    rolled = await http.post(f"{base}/documents/{about['id']}/versions/1/activate", headers=auth)
    assert rolled.status_code == 200, rolled.text
    assert (await http.post(f"{base}/runs/current/restart", headers=auth)).status_code == 202
    gate = (await wait_for_gate(http, base, auth, "architecture"))["gate"]
    ref = gate["versions"][0]
    regenerated = await _version(http, base, auth, ref)
    assert regenerated["source"] == "merge", regenerated["meta"]
    assert regenerated["meta"]["merge"]["edit_version"] == 4
    assert regenerated["meta"]["merge"]["base_version"] == 3  # the agent's text under v4
    assert OWN_SECTION.strip() in regenerated["content_md"]
    for step in ("architecture", "plan", "standards"):
        await wait_for_gate(http, base, auth, step)
        await decide(http, base, auth, step=step, action="approve")


async def _check_the_package_has_the_edit(http: httpx.AsyncClient, base: str, auth: Auth) -> None:
    done = await poll(http, f"{base}/runs/current", auth, lambda s: s["status"] == "completed")
    assert done["export_id"]
    requested = await http.post(f"{base}/exports", headers=auth)
    export_url = f"{base}/exports/{requested.json()['id']}"
    ready = await poll(http, export_url, auth, lambda body: body["status"] != "pending")
    with zipfile.ZipFile(io.BytesIO((await http.get(ready["download_url"])).content)) as archive:
        [name] = [n for n in archive.namelist() if n.endswith("docs/architecture.md")]
        assert OWN_SECTION.strip() in archive.read(name).decode()
