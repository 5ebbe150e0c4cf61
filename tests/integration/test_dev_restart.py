"""`docflow dev`: Ctrl-C stops everything; the next start finds the same data, and a run
waiting at a gate is still waiting and can be approved to the end."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from docflow import admin, temporal
from docflow.auth.tokens import issue_access_token
from docflow.contracts import STEPS, Action, Decision, RunStatus, Step
from docflow.settings import Settings
from docflow.storage.db import make_engine
from tests.flow_helpers import Handle, decide, start, state_of, wait_for_gate

ROOT = Path(__file__).resolve().parents[2]
PORT_FIELDS = (
    "TEMPORAL",
    "TEMPORAL_UI",
    "TEMPORAL_HTTP",
    "TEMPORAL_METRICS",
    "POSTGRES",
    "REDIS",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _dev_env(data_dir: Path) -> dict[str, str]:
    ports = {f"DOCFLOW_EMBEDDED_{name}_PORT": str(_free_port()) for name in PORT_FIELDS}
    return {
        **os.environ,
        **ports,
        "DOCFLOW_PORT": str(_free_port()),
        "DOCFLOW_DATA_DIR": str(data_dir),
    }


def _log_text(log: Path) -> str:
    return log.read_text()


def _tail(log: Path) -> str:
    return _log_text(log)[-3000:]


def _spawn_dev(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "docflow", "dev"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=output,
        )


async def _start_dev(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    process = _spawn_dev(env, log)
    url = f"http://127.0.0.1:{env['DOCFLOW_PORT']}/readyz"
    async with asyncio.timeout(90), httpx.AsyncClient() as http:
        while True:
            assert process.poll() is None, _tail(log)
            try:
                if (await http.get(url)).status_code == 200:
                    return process
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.3)


def _stop_dev(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=60)


def _settings(env: dict[str, str], data_dir: Path) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": data_dir,
            "temporal_address": f"127.0.0.1:{env['DOCFLOW_EMBEDDED_TEMPORAL_PORT']}",
            "database_url": (
                "postgresql+asyncpg://docflow_app:docflow_app@127.0.0.1:"
                f"{env['DOCFLOW_EMBEDDED_POSTGRES_PORT']}/docflow"
            ),
        }
    )


async def _start_waiting_run(settings: Settings, engine: AsyncEngine) -> str:
    tenant = await admin.ensure_tenant(engine, "restart-test", "Restart test")
    project = await admin.create_project(
        engine, tenant.id, name="Harbour", idea="A berth booking app for small harbours."
    )
    client = await temporal.connect(settings)
    handle = await start(client, settings, project)
    await wait_for_gate(handle, Step.DESCRIPTION)
    return handle.id


async def _approve_to_the_end(handle: Handle) -> None:
    for step in STEPS:
        await wait_for_gate(handle, step)
        await decide(handle, Decision(step=step, action=Action.APPROVE))
    await handle.result()


async def _only_the_data_folders_secret_is_trusted(
    env: dict[str, str], data_dir: Path, settings: Settings
) -> None:
    """The published placeholder secret signs nothing docflow dev accepts; the secret made
    on first start (0600, in the data folder) does, and survived the restart."""
    secret_file = data_dir / "secrets" / "jwt-secret"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    tenant_id = admin.tenant_id_for("restart-test")
    engine = make_engine(settings.database_url or "")
    try:
        user_id = await admin.add_member(
            engine, tenant_id, "owner@example.com", "correct horse battery", "owner"
        )
    finally:
        await engine.dispose()
    url = f"http://127.0.0.1:{env['DOCFLOW_PORT']}/api/v1/projects"
    async with httpx.AsyncClient() as http:
        for secret, status in ((None, 401), (secret_file.read_text().strip(), 200)):
            signer = Settings() if secret is None else Settings(jwt_secret=secret)
            token, _ = issue_access_token(
                signer, subject=str(user_id), tenant_id=tenant_id, role="owner"
            )
            answer = await http.get(url, headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == status, answer.text


async def test_dev_restart_keeps_a_run_waiting_at_its_gate(tmp_path: Path) -> None:
    # Outside pytest's tmp tree, which pytest may reset to 0700 (PostgreSQL runs as its
    # own OS user); removed by the finalizer below.
    data_dir = Path(tempfile.mkdtemp(prefix="docflow-test-dev-"))
    env, log = _dev_env(data_dir), tmp_path / "dev.log"
    settings = _settings(env, data_dir)

    first = await _start_dev(env, log)
    try:
        engine = make_engine(settings.database_url or "")
        workflow_id = await _start_waiting_run(settings, engine)
        await engine.dispose()
    finally:
        assert _stop_dev(first) == 0, _tail(log)

    second = await _start_dev(env, log)
    try:
        await _only_the_data_folders_secret_is_trusted(env, data_dir, settings)
        client = await temporal.connect(settings)
        handle: Handle = client.get_workflow_handle(workflow_id)
        state = await state_of(handle)
        assert state.status is RunStatus.AWAITING_APPROVAL
        assert state.gate is not None and state.gate.step is Step.DESCRIPTION
        await _approve_to_the_end(handle)
        assert (await state_of(handle)).status is RunStatus.COMPLETED
    finally:
        assert _stop_dev(second) == 0, _tail(log)
    assert _log_text(log).count("Temporal UI") == 2
    shutil.rmtree(data_dir, ignore_errors=True)
