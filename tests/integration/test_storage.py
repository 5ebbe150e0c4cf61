"""Migrations up and down; row-level security as the second wall."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import psycopg2
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from docflow import admin
from docflow.embedded import StackEndpoints
from docflow.storage import migrate
from docflow.storage.db import make_engine, sync_url, tenant_session
from docflow.storage.models import TENANT_TABLES, Project
from docflow.storage.repositories import NotFoundError, find_project
from tests.flow_helpers import run_sql


def _psycopg_dsn(url: str) -> str:
    return sync_url(url).replace("postgresql+psycopg2://", "postgresql://")


@pytest.fixture
def scratch_database(stack: StackEndpoints) -> Iterator[str]:
    """A fresh, empty database on the same server, dropped afterwards."""
    name = f"migrations_{uuid4().hex[:8]}"
    admin_dsn = _psycopg_dsn(stack.database_admin_url)
    connection = psycopg2.connect(admin_dsn)
    connection.autocommit = True
    connection.cursor().execute(f'CREATE DATABASE "{name}"')
    base, _, _ = stack.database_admin_url.rpartition("/")
    yield f"{base}/{name}"
    connection.cursor().execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    connection.close()


def _tables(url: str) -> set[str]:
    with psycopg2.connect(_psycopg_dsn(url)) as connection, connection.cursor() as cursor:
        cursor.execute("select tablename from pg_tables where schemaname = 'public'")
        return {row[0] for row in cursor.fetchall()}


def test_migrations_upgrade_downgrade_upgrade(scratch_database: str) -> None:
    migrate.upgrade(scratch_database)
    assert set(TENANT_TABLES) | {"tenants", "users"} <= _tables(scratch_database)
    migrate.downgrade(scratch_database)
    assert _tables(scratch_database) == {"alembic_version"}
    migrate.upgrade(scratch_database)
    assert "document_versions" in _tables(scratch_database)


def test_every_tenant_table_forces_row_level_security(stack: StackEndpoints) -> None:
    with (
        psycopg2.connect(_psycopg_dsn(stack.database_admin_url)) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "select relname, relrowsecurity, relforcerowsecurity from pg_class "
            "where relname = any(%s)",
            (list((*TENANT_TABLES, "tenants", "users")),),
        )
        flags = {name: (enabled, forced) for name, enabled, forced in cursor.fetchall()}
    assert flags == {
        **{name: (True, True) for name in (*TENANT_TABLES, "tenants")},
        "users": (True, False),  # the cross-tenant functions run as its owner (0003)
    }


async def test_app_role_is_not_a_superuser(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text("select rolsuper, rolbypassrls from pg_roles where rolname = current_user")
            )
        ).one()
    assert tuple(row) == (False, False)


async def test_rls_hides_other_tenants_rows_even_without_a_filter(
    engine: AsyncEngine, project: Project
) -> None:
    other = await admin.ensure_tenant(engine, f"other-{uuid4().hex[:8]}", "Other")
    async with tenant_session(engine, other.id) as session:
        # Deliberately no tenant filter: RLS must still hide tenant A's project.
        rows = (await run_sql(session, "select id from projects")).all()
        assert project.id not in {row[0] for row in rows}
        tenants = (await run_sql(session, "select id from tenants")).all()
        assert {row[0] for row in tenants} == {other.id}
    async with tenant_session(engine, project.tenant_id) as session:
        rows = (await run_sql(session, "select id from projects")).all()
        assert project.id in {row[0] for row in rows}


async def test_rls_refuses_writes_into_another_tenant(
    engine: AsyncEngine, project: Project
) -> None:
    other = await admin.ensure_tenant(engine, f"other-{uuid4().hex[:8]}", "Other")
    with pytest.raises(DBAPIError, match="row-level security"):
        async with tenant_session(engine, other.id) as session:
            await run_sql(
                session,
                "insert into projects (id, tenant_id, name, slug, idea, constraints, "
                "created_by, created_at) values (:id, :tenant, 'x', 'x', 'x', '', 'x', now())",
                id=uuid4(),
                tenant=project.tenant_id,
            )


async def test_a_session_without_tenant_sees_nothing(engine: AsyncEngine, project: Project) -> None:
    async with engine.connect() as connection:
        count = (await connection.execute(text("select count(*) from projects"))).scalar_one()
    assert count == 0


async def test_find_project_reads_one_tenants_project_and_leaves_no_tenant_behind(
    stack: StackEndpoints, project: Project
) -> None:
    # One pooled connection: the lookup's tenant setting must end with its statement.
    engine = make_engine(stack.database_url, pool_size=1)
    try:
        for _ in range(2):  # the first read learns the data key through a session
            found = await find_project(engine, project.tenant_id, project.id)
            assert (found.id, found.idea, found.constraints) == (
                project.id,
                project.idea,
                project.constraints,
            )
        other = await admin.ensure_tenant(engine, f"other-{uuid4().hex[:8]}", "Other")
        for _ in range(2):
            with pytest.raises(NotFoundError):
                await find_project(engine, other.id, project.id)
        async with engine.connect() as connection:
            left = await connection.execute(text("select current_setting('app.tenant_id', true)"))
            assert left.scalar_one() in (None, "")
            count = (await connection.execute(text("select count(*) from projects"))).scalar_one()
        assert count == 0
    finally:
        await engine.dispose()


async def test_project_in_tenant_runs_as_its_caller(engine: AsyncEngine) -> None:
    # SECURITY DEFINER would run it as the schema owner; as its caller, RLS binds it.
    async with engine.connect() as connection:
        definer = await connection.execute(
            text("select prosecdef from pg_proc where proname = 'project_in_tenant'")
        )
        assert definer.scalar_one() is False


async def test_users_are_seen_only_through_a_membership_of_the_scoped_tenant(
    engine: AsyncEngine,
) -> None:
    first = await admin.ensure_tenant(engine, f"users-a-{uuid4().hex[:8]}", "A")
    second = await admin.ensure_tenant(engine, f"users-b-{uuid4().hex[:8]}", "B")
    ada = f"ada-{uuid4().hex[:6]}@example.com"
    bob = f"bob-{uuid4().hex[:6]}@example.com"
    ada_id = await admin.add_member(engine, first.id, ada, "correct horse battery", "owner")
    await admin.add_member(engine, second.id, bob, "correct horse battery", "owner")

    async with engine.connect() as connection:  # no tenant: no user, no hash
        assert (await connection.execute(text("select count(*) from users"))).scalar_one() == 0
    async with tenant_session(engine, first.id) as session:
        rows = (await run_sql(session, "select email, password_hash from users")).all()
        assert [row[0] for row in rows] == [ada]
        # Finding a person of another tenant by email answers an id, never a hash.
        found = (await run_sql(session, "select docflow_user_id(:e)", e=bob)).scalar_one()
        assert found is not None
    with pytest.raises(DBAPIError, match="permission denied"):
        async with tenant_session(engine, first.id) as session:
            await run_sql(session, "update users set password_hash = 'x' where id = :i", i=ada_id)
    with pytest.raises(DBAPIError, match="permission denied"):
        async with tenant_session(engine, first.id) as session:
            await run_sql(
                session,
                "insert into users (id, email, password_hash, created_at) "
                "values (:i, 'eve@example.com', 'x', now())",
                i=uuid4(),
            )

    # Bob joins tenant A as the same person, keeping his password; then A sees him too.
    again = await admin.add_member(engine, first.id, bob, "another password here", "viewer")
    async with tenant_session(engine, first.id) as session:
        emails = {row[0] for row in (await run_sql(session, "select email from users")).all()}
        assert emails == {ada, bob}
        assert again == found
