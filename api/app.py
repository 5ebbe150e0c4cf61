"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import BlockingConnectionPool, Redis

from api.errors import PROBLEM_RESPONSES, install_error_handlers
from api.events import EventHub
from api.middleware import install_middleware
from api.routes import (
    auth,
    documents,
    exports,
    health,
    members,
    memory,
    package,
    projects,
    questions,
    runs,
)
from api.routes.events import router as events_router
from api.routes.web import install_web_app
from api.state import AppState
from docflow import __version__, temporal
from docflow.settings import Settings, get_settings
from docflow.storage.db import make_engine
from docflow.telemetry import setup_tracing

REDIS_CONNECTIONS = 100  # per API process; pub/sub holds one for all its channels (api.events)
REDIS_WAIT_S = 5.0


def redis_client(url: str) -> Redis:
    """Redis with a bounded pool that makes a burst of commands (every watched run's poller
    handing over at once) wait for a free connection, instead of failing past the limit."""
    pool = BlockingConnectionPool.from_url(
        url, max_connections=REDIS_CONNECTIONS, timeout=REDIS_WAIT_S
    )
    return Redis.from_pool(pool)


def create_app(settings: Settings | None = None) -> FastAPI:
    config = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not config.database_url or not config.redis_url:
            raise RuntimeError(
                "DATABASE_URL and REDIS_URL must be set: start the stack with `docflow dev`"
            )
        setup_tracing(config, "api")
        engine = make_engine(config.database_url, config.db_pool_size)
        client = await temporal.connect(config)
        redis = redis_client(config.redis_url)
        app.state.docflow = AppState(settings=config, engine=engine, temporal=client, redis=redis)
        app.state.events = EventHub(config, client, redis)
        try:
            yield
        finally:
            await app.state.events.close()
            await redis.aclose()
            await engine.dispose()

    app = FastAPI(
        title="docflow",
        version=__version__,
        summary="A project idea in, a professional documentation package out.",
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
        docs_url=None,  # served by api.routes.web from local files: no CDN
        redoc_url=None,
    )
    install_error_handlers(app)
    install_middleware(app, config)
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(members.router)
    app.include_router(projects.router)
    app.include_router(runs.router)
    app.include_router(documents.router)
    app.include_router(exports.router)
    app.include_router(package.router)
    app.include_router(questions.router)
    app.include_router(memory.router)
    app.include_router(events_router)
    install_web_app(app)
    return app
