"""Bootstrap operations: tenants and projects, through the same tenant-scoped sessions."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from docflow.auth.passwords import hash_password
from docflow.storage.accounts import AccountRepository
from docflow.storage.db import tenant_session
from docflow.storage.models import Project, Tenant
from docflow.storage.repositories import TenantRepository


def tenant_id_for(slug: str) -> UUID:
    """A stable tenant id for a slug (used by the demo and the CLI's local tenants)."""
    return uuid5(NAMESPACE_URL, f"docflow:tenant:{slug}")


async def ensure_tenant(engine: AsyncEngine, slug: str, name: str) -> Tenant:
    tenant_id = tenant_id_for(slug)
    async with tenant_session(engine, tenant_id) as session:
        existing = (await session.exec(select(Tenant).where(Tenant.id == tenant_id))).first()
        if existing is not None:
            return existing
        return await TenantRepository(tenant_id, session).add_tenant(slug, name)


async def create_project(
    engine: AsyncEngine,
    tenant_id: UUID,
    *,
    name: str,
    idea: str,
    constraints: str = "",
    created_by: str = "system",
) -> Project:
    async with tenant_session(engine, tenant_id) as session:
        repo = TenantRepository(tenant_id, session)
        return await repo.create_project(name, idea, constraints, created_by)


async def add_member(
    engine: AsyncEngine, tenant_id: UUID, email: str, password: str, role: str
) -> UUID:
    """A user with this password (created when new) as a member of the tenant: their id.
    For tests and benchmarks; `docflow admin create-user` adds its own checks around it."""
    async with tenant_session(engine, tenant_id) as session:
        accounts = AccountRepository(tenant_id, session)
        user, _ = await accounts.ensure_user(email, hash_password(password))
        await accounts.add_member(user, role)
    return user.id
