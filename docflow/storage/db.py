"""Engines and tenant-scoped sessions.

Every session the application opens is bound to one tenant: the transaction starts with
``set_config('app.tenant_id', ..., true)``, which the row-level security policies read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from docflow.storage.crypto import keyring, tenant_data_key


def async_url(url: str) -> str:
    for prefix in ("postgresql+psycopg2://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def sync_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


CONNECT_TIMEOUT_S = 10  # a database that does not answer fails a session in seconds ...
COMMAND_TIMEOUT_S = 60  # ... and a statement that hangs, within a minute; callers retry


def make_engine(url: str) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        connect_args={"timeout": CONNECT_TIMEOUT_S, "command_timeout": COMMAND_TIMEOUT_S},
    )


@asynccontextmanager
async def tenant_session(engine: AsyncEngine, tenant_id: UUID) -> AsyncIterator[AsyncSession]:
    """One transaction, scoped to ``tenant_id`` by RLS and to its data key for the
    encrypted columns (``docflow.storage.crypto``); commits on success."""
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        await session.exec(select(func.set_config("app.tenant_id", str(tenant_id), True)))
        ring = keyring()
        data_key = await ring.data_key(session, tenant_id) if ring is not None else None
        with tenant_data_key(data_key):
            yield session
            await session.flush()  # what is still pending is encrypted with this key
