"""Test session: one real embedded stack (Temporal, PostgreSQL, Valkey) for all tests.

Every test gets its own tenant and its own task queue, so tests never see each other's
rows or workflows.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from pathlib import Path
from uuid import UUID, uuid4

import pytest

_PRIVATE_HOME = Path(tempfile.mkdtemp(prefix="docflow-tests-home-"))
os.environ.update(
    {
        "HOME": str(_PRIVATE_HOME),
        # Every test stores what people write encrypted, as a deployment does; processes
        # the tests start (docflow dev, the API in a thread) inherit the key.
        "DOCFLOW_MASTER_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "CREWAI_STORAGE_DIR": str(_PRIVATE_HOME / "crewai"),
        "CREWAI_DISABLE_TELEMETRY": "true",
        "CREWAI_TRACING_ENABLED": "false",
        "CREWAI_DISABLE_VERSION_CHECK": "true",
    }
)

import httpx  # noqa: E402
import psycopg2  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402
from temporalio.client import Client  # noqa: E402

from api.app import create_app  # noqa: E402
from docflow import admin, temporal  # noqa: E402
from docflow.auth.tokens import issue_access_token  # noqa: E402
from docflow.embedded import (  # noqa: E402
    EmbeddedStack,
    StackEndpoints,
    free_port_settings,
)
from docflow.memory.runtime import close_clients  # noqa: E402
from docflow.settings import Settings  # noqa: E402
from docflow.storage import migrate  # noqa: E402
from docflow.storage.db import make_engine, sync_url  # noqa: E402
from docflow.storage.models import Project, Tenant  # noqa: E402
from tests.servers import serve  # noqa: E402
from worker.main import Workers, build_worker  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def memory_clients_closed() -> Iterator[None]:
    """The process's shared Qdrant clients are closed before Python shuts down (their own
    finaliser would run too late to close cleanly)."""
    yield
    close_clients()


@pytest.fixture(scope="session")
def stack() -> Iterator[StackEndpoints]:
    # Outside pytest's tmp tree: pytest resets that tree to mode 0700 whenever another
    # session starts, and PostgreSQL runs as its own OS user, which then loses access.
    data_dir = Path(tempfile.mkdtemp(prefix="docflow-test-stack-"))
    settings = free_port_settings(data_dir)
    try:
        with EmbeddedStack(settings) as endpoints:
            migrate.upgrade(endpoints.database_admin_url, settings.db_app_role)
            yield endpoints
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def base_settings(stack: StackEndpoints, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return free_port_settings(
        tmp_path_factory.mktemp("data"),
        database_url=stack.database_url,
        database_admin_url=stack.database_admin_url,
        redis_url=stack.redis_url,
        temporal_address=stack.temporal_address,
        qdrant_path=stack.qdrant_location,
    )


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    return base_settings.model_copy(update={"task_queue": f"test-{uuid4().hex[:12]}"})


@pytest.fixture(scope="session")
async def engine(stack: StackEndpoints) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(stack.database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def client(base_settings: Settings) -> Client:
    return await temporal.connect(base_settings)


@pytest.fixture
async def worker(client: Client, engine: AsyncEngine, settings: Settings) -> AsyncIterator[Workers]:
    async with build_worker(client, engine, settings) as running:
        yield running


@pytest.fixture
async def tenant(engine: AsyncEngine) -> Tenant:
    slug = f"t-{uuid4().hex[:10]}"
    return await admin.ensure_tenant(engine, slug, f"Tenant {slug}")


IDEA = (
    "# PlotPal\n\nA mobile app for community gardens to share tools and schedule plots.\n\n"
    "- Members book shared tools and see who has them.\n"
    "- Coordinators allocate plots and keep a waiting list.\n"
    "- Works offline in the garden and syncs later.\n"
)


@pytest.fixture
async def project(engine: AsyncEngine, tenant: Tenant) -> Project:
    return await admin.create_project(
        engine,
        tenant.id,
        name="PlotPal",
        idea=IDEA,
        constraints="Two developers, three months, EU hosting (GDPR).",
        created_by="tests",
    )


# --- the HTTP API, served for real (uvicorn on a free port) -----------------------------


@pytest.fixture(scope="session")
def api_settings(base_settings: Settings) -> Settings:
    # Limits off (0) for the shared server: every test client is 127.0.0.1 on one Redis;
    # tests/integration/test_rate_limits.py serves apps with low limits of their own.
    limits_off = {
        f"rate_limit_{name}_per_min": 0 for name in ("global", "tenant", "project", "auth")
    }
    return base_settings.model_copy(update={"task_queue": f"api-{uuid4().hex[:8]}", **limits_off})


@pytest.fixture(scope="session")
async def api_worker(
    client: Client, engine: AsyncEngine, api_settings: Settings
) -> AsyncIterator[Workers]:
    async with build_worker(client, engine, api_settings) as running:
        yield running


@pytest.fixture(scope="session")
async def api_url(api_settings: Settings, api_worker: Workers) -> AsyncIterator[str]:
    async with serve(create_app(api_settings)) as url:
        yield url


@pytest.fixture
async def http(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as session:
        yield session


def bearer(settings: Settings, tenant_id: UUID, role: str = "owner") -> dict[str, str]:
    """Authorization header with a token of the built-in issuer for a new member with
    ``role`` (the API checks the membership behind every built-in token); the tenant is
    created when it does not exist yet."""
    user_id = uuid4()
    dsn = sync_url(settings.database_admin_url or "").replace("+psycopg2", "", 1)
    connection = psycopg2.connect(dsn)
    with closing(connection), connection, connection.cursor() as cursor:  # one transaction
        cursor.execute(
            "insert into tenants (id, slug, name, created_at) values (%s, %s, %s, now()) "
            "on conflict do nothing",
            (str(tenant_id), f"t-{tenant_id.hex[:12]}", "Test tenant"),
        )
        cursor.execute(
            "insert into users (id, email, password_hash, created_at) values (%s, %s, null, now())",
            (str(user_id), f"{user_id.hex[:12]}@example.com"),
        )
        cursor.execute(
            "insert into memberships (id, tenant_id, user_id, role, created_at) "
            "values (%s, %s, %s, %s, now())",
            (str(uuid4()), str(tenant_id), str(user_id), role),
        )
    token, _ = issue_access_token(settings, subject=str(user_id), tenant_id=tenant_id, role=role)
    return {"Authorization": f"Bearer {token}"}
