"""The request-path anchor of bench/speed.py: bare FastAPI and one asyncpg SELECT.

    BENCH_ANCHOR_DSN=postgresql://... python -m uvicorn bench.anchor_api:app --port P

The same server (uvicorn, one process), database and row as docflow's
``GET /api/v1/projects/{id}``, without authentication, tenancy or rate limits.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import asyncpg  # type: ignore[import-untyped]
from fastapi import FastAPI, HTTPException

pools: dict[str, Any] = {}


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    pools["db"] = await asyncpg.create_pool(os.environ["BENCH_ANCHOR_DSN"], min_size=1, max_size=10)
    try:
        yield
    finally:
        await pools["db"].close()


app = FastAPI(lifespan=lifespan)


@app.get("/projects/{project_id}")
async def get_project(project_id: UUID) -> dict[str, Any]:
    row = await pools["db"].fetchrow(
        "SELECT id, tenant_id, name, slug, idea, created_at FROM projects WHERE id = $1",
        project_id,
    )
    if row is None:
        raise HTTPException(404, detail="project not found")
    return dict(row)
