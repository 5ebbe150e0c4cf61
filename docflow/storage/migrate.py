"""Run Alembic migrations programmatically (used by ``docflow dev``, the demo and tests)."""

from __future__ import annotations

from pathlib import Path

import psycopg2
from alembic import command
from alembic.config import Config
from psycopg2 import sql

import migrations
from docflow.storage.db import sync_url

# The installed ``migrations`` package, so that a non-editable install (the images) finds
# its scripts; alembic.ini at the top of the checkout is for the alembic command line.
SCRIPTS = Path(migrations.__file__).resolve().parent


def alembic_config(admin_url: str, app_role: str = "docflow_app") -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["url"] = admin_url
    config.attributes["app_role"] = app_role
    return config


def upgrade(admin_url: str, app_role: str = "docflow_app", revision: str = "head") -> None:
    command.upgrade(alembic_config(admin_url, app_role), revision)


def downgrade(admin_url: str, app_role: str = "docflow_app", revision: str = "base") -> None:
    command.downgrade(alembic_config(admin_url, app_role), revision)


def ensure_app_role(admin_url: str, role: str, password: str) -> None:
    """Create (or bring in line) the application role: LOGIN, NOSUPERUSER, NOBYPASSRLS.

    Idempotent; run as the schema owner before migrations, which grant it DML rights.
    """
    dsn = sync_url(admin_url).replace("postgresql+psycopg2://", "postgresql://", 1)
    connection = psycopg2.connect(dsn, connect_timeout=10)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
            verb = "ALTER" if cursor.fetchone() else "CREATE"
            attributes = "LOGIN PASSWORD {} NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
            cursor.execute(
                sql.SQL(f"{verb} ROLE {{}} {attributes}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
            cursor.execute("SELECT current_database()")
            (database,) = cursor.fetchone()
            cursor.execute(
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                    sql.Identifier(database), sql.Identifier(role)
                )
            )
            cursor.execute(
                sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(role))
            )
    finally:
        connection.close()
