"""Engines and tenant-scoped sessions.

Every session the application opens is bound to one tenant: the transaction starts with
``set_config('app.tenant_id', ..., true)``, which the row-level security policies read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from sqlalchemy import bindparam, func
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


DEFAULT_POOL_SIZE = 20


def make_engine(url: str, pool_size: int = DEFAULT_POOL_SIZE) -> AsyncEngine:
    """An engine with ``pool_size`` connections kept (as many again when busy).

    No ping before each checkout: it would cost every request a round trip. A connection
    that died with its server fails its first statement instead; SQLAlchemy then drops
    every connection made before the failure, and the API answers that one request 503
    (``api.errors.is_unavailable``) while activities retry.
    """
    return create_async_engine(
        async_url(url),
        pool_pre_ping=False,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={"timeout": CONNECT_TIMEOUT_S, "command_timeout": COMMAND_TIMEOUT_S},
    )


# Built once: constructing the statement on every request showed in the API's profile.
_SET_TENANT = select(func.set_config("app.tenant_id", bindparam("tenant"), True))


@asynccontextmanager
async def tenant_session(engine: AsyncEngine, tenant_id: UUID) -> AsyncIterator[AsyncSession]:
    """One transaction, scoped to ``tenant_id`` by RLS and to its data key for the
    encrypted columns (``docflow.storage.crypto``); commits on success."""
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        await session.exec(_SET_TENANT, params={"tenant": str(tenant_id)})
        ring = keyring()
        data_key = await ring.data_key(session, tenant_id) if ring is not None else None
        with tenant_data_key(data_key):
            yield session
            await session.flush()  # what is still pending is encrypted with this key
