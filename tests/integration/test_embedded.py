"""The embedded stack: real Temporal, PostgreSQL and Valkey from pip packages."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pytest
import redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from docflow.embedded import (
    SEARCH_ATTRIBUTES,
    EmbeddedStack,
    StackEndpoints,
    export_env,
    free_port_settings,
)
from docflow.settings import Settings

SERVICE_URL_VARS = (
    "DATABASE_URL",
    "DOCFLOW_DATABASE_URL",
    "DOCFLOW_DATABASE_ADMIN_URL",
    "REDIS_URL",
    "DOCFLOW_REDIS_URL",
    "QDRANT_URL",
    "DOCFLOW_QDRANT_URL",
    "DOCFLOW_QDRANT_PATH",
    "TEMPORAL_ADDRESS",
    "DOCFLOW_TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "DOCFLOW_TEMPORAL_NAMESPACE",
)


@pytest.fixture
def no_service_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in SERVICE_URL_VARS:
        monkeypatch.delenv(var, raising=False)


async def _check_temporal(endpoints: StackEndpoints) -> None:
    client = await Client.connect(endpoints.temporal_address)
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="default")
    )
    for name in SEARCH_ATTRIBUTES:
        assert name in response.custom_attributes
    assert endpoints.temporal_ui_url is not None


async def _scalar_rows(url: str, query: str) -> list[tuple[object, ...]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(text(query))
            return [tuple(row) for row in result]
    finally:
        await engine.dispose()


async def _check_app_role(endpoints: StackEndpoints) -> None:
    rows = await _scalar_rows(
        endpoints.database_url,
        "select rolsuper, rolbypassrls from pg_roles where rolname = current_user",
    )
    assert rows == [(False, False)]


async def _create_marker_table(endpoints: StackEndpoints) -> None:
    engine = create_async_engine(endpoints.database_admin_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("create table marker (note text)"))
            await conn.execute(text("insert into marker values ('first start')"))
    finally:
        await engine.dispose()


async def _marker_rows(endpoints: StackEndpoints) -> list[tuple[object, ...]]:
    return await _scalar_rows(endpoints.database_admin_url, "select note from marker")


def _ping_valkey(endpoints: StackEndpoints) -> None:
    client = redis.Redis.from_url(endpoints.redis_url)
    try:
        assert client.ping()
    finally:
        client.close()


def _check_qdrant_folder(endpoints: StackEndpoints, data_dir: Path) -> None:
    assert Path(endpoints.qdrant_location) == (data_dir / "qdrant").resolve()
    assert Path(endpoints.qdrant_location).is_dir()


def _kill_postmaster(data_dir: Path) -> None:
    """A crashed run: the postmaster dies by SIGKILL, its postmaster.pid stays behind."""
    pid = int((data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[0])
    os.kill(pid, signal.SIGKILL)


def _processes_under(root: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if cwd.is_relative_to(root):
            found.append(int(entry.name))
    return found


async def test_stack_starts_persists_and_survives_a_killed_run(
    tmp_path: Path, no_service_env: None
) -> None:
    data_dir = tmp_path / "data"
    settings = free_port_settings(data_dir)
    first, second, third = (EmbeddedStack(settings) for _ in range(3))
    try:
        began = time.monotonic()
        endpoints = first.start()
        cold = time.monotonic() - began
        await _check_temporal(endpoints)
        await _check_app_role(endpoints)
        _ping_valkey(endpoints)
        await _create_marker_table(endpoints)
        _check_qdrant_folder(endpoints, data_dir)
        first.stop()
        first.stop()  # idempotent

        began = time.monotonic()
        endpoints = second.start()  # same data dir: cluster and Temporal db reused
        warm = time.monotonic() - began
        assert await _marker_rows(endpoints) == [("first start",)]
        await _check_temporal(endpoints)

        # The owning process dies without stopping anything: Temporal and Valkey live on as
        # orphans, and the postmaster is killed, leaving a stale postmaster.pid.
        _kill_postmaster(data_dir)
        endpoints = third.start()
        assert await _marker_rows(endpoints) == [("first start",)]
        await _check_app_role(endpoints)
        _ping_valkey(endpoints)
        print(f"embedded stack: cold start {cold:.1f}s, warm start {warm:.1f}s")
    finally:
        for stack in (third, second, first):
            stack.stop()
    assert _processes_under(data_dir.resolve()) == []


def test_configured_urls_start_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.example:7233")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://app:pw@db.example/docflow")
    monkeypatch.setenv("DOCFLOW_DATABASE_ADMIN_URL", "postgresql+asyncpg://owner@db.example/x")
    monkeypatch.setenv("REDIS_URL", "redis://redis.example:6379/0")
    monkeypatch.setenv("QDRANT_URL", "http://qdrant.example:6333")
    with EmbeddedStack(Settings(data_dir=tmp_path / "data")) as endpoints:
        assert endpoints == StackEndpoints(
            temporal_address="temporal.example:7233",
            temporal_ui_url=None,
            database_url="postgresql+asyncpg://app:pw@db.example/docflow",
            database_admin_url="postgresql+asyncpg://owner@db.example/x",
            redis_url="redis://redis.example:6379/0",
            qdrant_location="http://qdrant.example:6333",
        )
        assert export_env(endpoints)["QDRANT_URL"] == "http://qdrant.example:6333"
    assert not (tmp_path / "data" / "logs" / "temporal.log").exists()


def test_export_env_round_trips_through_settings(
    no_service_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoints = StackEndpoints(
        temporal_address="127.0.0.1:17233",
        temporal_ui_url="http://127.0.0.1:18233",
        database_url="postgresql+asyncpg://docflow_app:pw@127.0.0.1:5555/docflow",
        database_admin_url="postgresql+asyncpg://postgres@127.0.0.1:5555/docflow",
        redis_url="redis://127.0.0.1:16379/0",
        qdrant_location="/srv/docflow/qdrant",
    )
    env = export_env(endpoints)
    assert "QDRANT_URL" not in env
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.temporal_address == endpoints.temporal_address
    assert settings.temporal_ui_url == endpoints.temporal_ui_url
    assert settings.database_url == endpoints.database_url
    assert settings.database_admin_url == endpoints.database_admin_url
    assert settings.redis_url == endpoints.redis_url
    assert settings.qdrant_url is None
    assert settings.qdrant_path == Path(endpoints.qdrant_location)


def test_taken_fixed_port_names_the_service_and_setting(
    tmp_path: Path, no_service_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://app:pw@127.0.0.1:1/docflow")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        stack = EmbeddedStack(Settings(data_dir=tmp_path / "data", embedded_redis_port=taken))
        with pytest.raises(RuntimeError, match=r"embedded valkey: .*DOCFLOW_EMBEDDED_REDIS_PORT"):
            stack.start()
    assert stack.endpoints is None
