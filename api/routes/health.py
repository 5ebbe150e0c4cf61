"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.readiness import (
    check_postgres,
    check_qdrant,
    check_redis,
    check_temporal,
    check_worker,
    run_probes,
)
from api.state import AppState

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The API process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Temporal, PostgreSQL, Redis and Qdrant answer, and a worker polls")
async def readyz(request: Request) -> JSONResponse:
    state: AppState = request.app.state.docflow
    checks = await run_probes(
        {
            "postgres": lambda: check_postgres(state.engine),
            "temporal": lambda: check_temporal(state.temporal),
            "qdrant": lambda: check_qdrant(state.settings),
            "redis": lambda: check_redis(state.redis),
            "worker": lambda: check_worker(state.temporal, state.settings.task_queue),
        }
    )
    ready = all(result == "ok" for result in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)
