"""Alembic environment: runs migrations as the schema owner (never as the app role).

The URL comes from ``config.attributes["url"]`` (set by ``docflow.storage.migrate``) or
from DOCFLOW_DATABASE_ADMIN_URL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool
from sqlmodel import SQLModel

import docflow.storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from docflow.settings import get_settings
from docflow.storage.db import sync_url

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    url = config.attributes.get("url") or get_settings().database_admin_url
    if not url:
        raise RuntimeError("no database URL for migrations: set DOCFLOW_DATABASE_ADMIN_URL")
    return sync_url(str(url))


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
