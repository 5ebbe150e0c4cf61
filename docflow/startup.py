"""What every long-running process checks before it serves: its settings and the services
they name. A problem ends the process at start with one plain line per problem (exit 2),
instead of a traceback at the first run. Used by `docflow api`, `docflow worker` and the
CLI (docs/operations.md)."""

from __future__ import annotations

import asyncio
import sys
from typing import NoReturn
from urllib.parse import urlsplit

from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy import text

from docflow.auth.tokens import MIN_SECRET_BYTES, weak_jwt_secret
from docflow.settings import DEV_DB_APP_PASSWORD, Settings, get_settings

SERVICE_TIMEOUT_S = 10.0


class StartupError(Exception):
    """A process cannot start: its message is the one line a person reads."""


def env_name(field: str) -> str:
    """The environment variable a person sets for a settings field (an error about a field
    with aliases already names the variable)."""
    if field not in Settings.model_fields:
        return field
    choices = getattr(Settings.model_fields[field].validation_alias, "choices", None)
    return str(choices[0]) if choices else f"DOCFLOW_{field.upper()}"


def validation_lines(error: ValidationError) -> list[str]:
    return [
        f"invalid setting {env_name(str(problem['loc'][0])) if problem['loc'] else ''}: "
        f"{problem['msg']}"
        for problem in error.errors()
    ]


def production_problems(settings: Settings) -> list[str]:
    """Outside development, the published placeholders and missing secrets."""
    if settings.environment == "development":
        return []
    where = f"when DOCFLOW_ENV={settings.environment}"
    problems = []
    if weak_jwt_secret(settings):
        problems.append(
            f"DOCFLOW_JWT_SECRET must be a random secret of at least {MIN_SECRET_BYTES} bytes "
            f"{where}"
        )
    if settings.master_key is None:
        problems.append(f"DOCFLOW_MASTER_KEY must be set {where}")
    if settings.db_app_password.get_secret_value() == DEV_DB_APP_PASSWORD:
        problems.append(f"DOCFLOW_DB_APP_PASSWORD must not be the development default {where}")
    if settings.llm_provider == "openai" and not settings.llm_base_url:
        problems.append("DOCFLOW_LLM_BASE_URL must be set when DOCFLOW_LLM_PROVIDER=openai")
    return problems


def exit_with(lines: list[str]) -> NoReturn:
    for line in lines:
        print(f"docflow: {line}", file=sys.stderr)  # noqa: T201 (the process's last words)
    raise SystemExit(2)


def load_settings() -> Settings:
    """The process's settings, or exit 2 with one line per invalid or unsafe value."""
    try:
        settings = get_settings()
    except ValidationError as error:
        exit_with(validation_lines(error))
    problems = production_problems(settings)
    if problems:
        exit_with(problems)
    return settings


def _where(url: str) -> str:
    """host:port of a URL, without its credentials."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


# Words in a client's error (Temporal's Rust core, asyncpg, redis-py) -> the plain reason.
REASONS = (
    (("connection refused", "connectionrefused", "connect call failed"), "connection refused"),
    (
        ("dns error", "name or service not known", "failed to lookup", "nodename nor servname"),
        "the host name does not resolve",
    ),
    (("certificate", "tls", "handshake", "ssl"), "the TLS handshake failed"),
    (
        ("password authentication failed", "unauthenticated", "permission denied"),
        "the credentials were refused",
    ),
)


def reason(error: BaseException) -> str:
    """One plain phrase for why a service could not be reached."""
    if isinstance(error, TimeoutError):
        return "no answer in time"
    text = str(error).lower()
    for words, phrase in REASONS:
        if any(word in text for word in words):
            return phrase
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


async def _check_postgres(url: str) -> None:
    from docflow.storage.db import make_engine

    engine = make_engine(url, 1)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("select 1"))
    finally:
        await engine.dispose()


async def _check_redis(url: str) -> None:
    redis = Redis.from_url(url, socket_timeout=SERVICE_TIMEOUT_S)
    try:
        await redis.ping()
    finally:
        await redis.aclose()


async def _check_temporal(settings: Settings) -> None:
    from docflow import temporal

    await temporal.connect(settings)


def temporal_where(settings: Settings) -> str:
    from docflow import temporal

    try:
        return temporal.connect_config(settings)["target_host"]
    except OSError:  # a certificate file missing: the check itself reports it
        return settings.temporal_target


async def check_services(settings: Settings, *, redis: bool) -> None:
    """Reach PostgreSQL, Temporal and (with ``redis``) Valkey; StartupError naming the
    first unreachable one."""
    if not settings.database_url:
        raise StartupError("DATABASE_URL is not set (docflow dev starts the embedded stack)")
    if redis and not settings.redis_url:
        raise StartupError("REDIS_URL is not set (docflow dev starts the embedded stack)")
    checks = [
        ("PostgreSQL", _where(settings.database_url), _check_postgres(settings.database_url)),
        ("Temporal", temporal_where(settings), _check_temporal(settings)),
    ]
    if redis and settings.redis_url:
        checks.append(("Valkey", _where(settings.redis_url), _check_redis(settings.redis_url)))
    for name, where, check in checks:
        try:
            async with asyncio.timeout(SERVICE_TIMEOUT_S):
                await check
        except Exception as error:
            for pending in checks:  # the checks not reached are never awaited
                pending[2].close()
            raise StartupError(f"cannot reach {name} at {where}: {reason(error)}") from error


def check_offline_writer() -> None:
    """Exit 2 with one line when a data file of the offline writer is broken."""
    from docflow.offline.knowledge import KnowledgeError
    from docflow.offline.templates import load_all

    try:
        load_all()
    except KnowledgeError as error:
        exit_with([f"the offline writer cannot start: {str(error).splitlines()[0]}"])


def preflight(settings: Settings, *, redis: bool) -> None:
    """Exit 2 with one line when a service the process needs is unreachable."""
    try:
        asyncio.run(check_services(settings, redis=redis))
    except StartupError as error:
        exit_with([str(error)])
