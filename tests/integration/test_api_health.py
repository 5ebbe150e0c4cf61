"""The API's health and readiness, against the real stack; the API never imports CrewAI."""

from __future__ import annotations

import subprocess
import sys

import httpx
from fastapi.testclient import TestClient

from api.app import create_app
from docflow.settings import Settings


async def test_readyz_with_a_worker_polling(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {
        "ready": True,
        "checks": {"postgres": "ok", "temporal": "ok", "qdrant": "ok", "redis": "ok",
                   "worker": "ok"},
    }  # fmt: skip


def test_readyz_is_503_while_no_worker_polls(base_settings: Settings) -> None:
    lonely = base_settings.model_copy(update={"task_queue": "nobody-polls-this-queue"})
    with TestClient(create_app(lonely)) as http:
        ready = http.get("/readyz")
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["worker"].startswith("error:") and "no worker polls" in checks["worker"]
    assert {name: checks[name] for name in ("postgres", "temporal", "redis")} == {
        "postgres": "ok", "temporal": "ok", "redis": "ok"
    }  # fmt: skip


def test_readyz_reports_a_dead_dependency(base_settings: Settings) -> None:
    broken = base_settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    with TestClient(create_app(broken)) as http:
        ready = http.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"].startswith("error:")


def test_api_process_does_not_import_crewai_qdrant_or_onnxruntime() -> None:
    heavy = ("crewai", "qdrant_client", "onnxruntime")
    probe = f"import sys, api.app; print(any(m in sys.modules for m in {heavy!r}))"
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "False"
