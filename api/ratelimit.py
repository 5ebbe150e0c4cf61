"""Rate limits in Redis: GCRA in one Lua script, atomic across API replicas.

Buckets, each a Redis key with the tenant and project ids inside it:

- global: ``docflow:rl:global``, ``rate_limit_global_per_min``: every request;
- auth: ``docflow:rl:auth:<client ip>``, ``rate_limit_auth_per_min``: ``POST
  /api/v1/auth/token``;
- tenant: ``docflow:rl:tenant:<tenant_id>``, ``rate_limit_tenant_per_min``: every request
  whose bearer token verifies;
- project: ``docflow:rl:project:<tenant_id>:<project_id>``, ``rate_limit_project_per_min``:
  those of them under ``/api/v1/projects/{project_id}``.

``api.middleware.RateLimitMiddleware`` counts a request in all of its buckets with one
script call, before any route runs. A limit of 0 or less switches that bucket off. When
Redis does not answer, the limiter fails open, except on the token endpoint, which fails
closed (ADR-007).
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.errors import RATE_LIMITED, ProblemError
from docflow.settings import Settings

logger = logging.getLogger(__name__)

KEY_PREFIX = "docflow:rl:"
PERIOD_MS = 60_000
REDIS_TIMEOUT_S = 0.5  # a slow Redis must not stall every request
COOLDOWN_S = 5.0  # after a failure, skip Redis this long (no per-request connect attempts)
_PROJECT_PATH = re.compile(r"/api/v1/projects/([0-9A-Fa-f-]{32,36})(?:/|$)")

# GCRA over one or more buckets, all or nothing: a refusal consumes no bucket.
# KEYS[i]: a bucket; ARGV[1]: the period in ms; ARGV[i + 1]: the limit of KEYS[i] per period.
# The clock is Redis's own, so replicas with skewed clocks agree.
# Returns {allowed, limit, remaining, reset_ms, retry_after_ms, index} of the deciding
# bucket: the refusing one with the longest wait, else the one with the least left.
GCRA_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local period = tonumber(ARGV[1])
local tats = {}
local report = nil
local refused = false
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[i + 1])
  local interval = period / limit
  local tat = math.max(tonumber(redis.call('GET', key) or now), now)
  local new_tat = tat + interval
  local wait = new_tat - period - now
  if wait > 0 then
    if not refused or wait > report[5] then
      report = {0, limit, 0, tat - now, wait, i}
    end
    refused = true
  else
    tats[i] = new_tat
    local remaining = math.floor((period - (new_tat - now)) / interval + 1e-9)
    if not refused and (report == nil or remaining < report[3]) then
      report = {1, limit, remaining, new_tat - now, 0, i}
    end
  end
end
if not refused then
  for i, key in ipairs(KEYS) do
    local ttl = math.max(1, math.ceil(tats[i] - now))
    redis.call('SET', key, string.format('%.3f', tats[i]), 'PX', ttl)
  end
end
return {report[1], report[2], report[3], math.ceil(report[4]), math.ceil(report[5]), report[6]}
"""


# --- keys and limits ----------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    """One bucket: ``name`` says which limit it is (global, auth, tenant, project)."""

    name: str
    key: str
    per_minute: int


def global_limit(settings: Settings) -> Limit:
    return Limit("global", f"{KEY_PREFIX}global", settings.rate_limit_global_per_min)


def auth_limit(settings: Settings, client_ip: str) -> Limit:
    return Limit("auth", f"{KEY_PREFIX}auth:{client_ip}", settings.rate_limit_auth_per_min)


def tenant_limit(settings: Settings, tenant_id: UUID) -> Limit:
    return Limit("tenant", f"{KEY_PREFIX}tenant:{tenant_id}", settings.rate_limit_tenant_per_min)


def project_limit(settings: Settings, tenant_id: UUID, project_id: UUID) -> Limit:
    key = f"{KEY_PREFIX}project:{tenant_id}:{project_id}"
    return Limit("project", key, settings.rate_limit_project_per_min)


def project_id_in_path(path: str) -> UUID | None:
    """The project of a ``/api/v1/projects/{project_id}/...`` path, if it names one."""
    match = _PROJECT_PATH.match(path)
    if match is None:
        return None
    try:
        return UUID(match.group(1))
    except ValueError:
        return None  # the route's own validation answers 422


def tenant_and_project_limits(
    settings: Settings, tenant_id: UUID, project_id: UUID | None
) -> list[Limit]:
    limits = [tenant_limit(settings, tenant_id)]
    if project_id is not None:
        limits.append(project_limit(settings, tenant_id, project_id))
    return limits


def _seconds(milliseconds: int) -> int:
    return max(1, math.ceil(milliseconds / 1000))


@dataclass(frozen=True)
class Decision:
    """The answer for the deciding bucket, in whole seconds."""

    name: str
    allowed: bool
    limit: int
    remaining: int
    reset_s: int
    retry_after_s: int

    @classmethod
    def from_reply(cls, limits: Sequence[Limit], reply: Sequence[Any]) -> Decision:
        allowed, limit, remaining, reset_ms, retry_ms, index = (int(value) for value in reply)
        return cls(
            name=limits[index - 1].name,
            allowed=bool(allowed),
            limit=limit,
            remaining=remaining,
            reset_s=_seconds(reset_ms),
            retry_after_s=_seconds(retry_ms) if not allowed else 0,
        )

    def headers(self) -> dict[str, str]:
        """RateLimit-* headers (IETF httpapi draft), plus Retry-After on a refusal."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
            "RateLimit-Policy": f"{self.limit};w={PERIOD_MS // 1000}",
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_s)
        return headers

    def refusal(self) -> ProblemError:
        return ProblemError(
            429,
            f"the {self.name} limit of {self.limit} requests per minute is used up; "
            f"retry in {self.retry_after_s} s",
            kind=RATE_LIMITED,
            headers=self.headers(),
        )


# --- the limiter --------------------------------------------------------------------------


class RateLimiterUnavailable(Exception):
    """Redis did not answer (or did recently): the caller applies the fail-open/closed rule."""


class RateLimiter:
    """Checks buckets in one EVALSHA; trips for ``cooldown_s`` when Redis fails."""

    def __init__(
        self,
        redis: Redis,
        *,
        timeout_s: float = REDIS_TIMEOUT_S,
        cooldown_s: float = COOLDOWN_S,
    ) -> None:
        self.redis = redis
        self.timeout_s = timeout_s
        self.cooldown_s = cooldown_s
        self._script = redis.register_script(GCRA_SCRIPT)
        self._down_until = 0.0

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    async def hit(self, limits: Sequence[Limit]) -> Decision | None:
        """Count one request in every active bucket; None if no bucket is active."""
        active = [limit for limit in limits if limit.per_minute > 0]
        if not active:
            return None
        if not self.available:
            raise RateLimiterUnavailable("Redis failed recently; not retried yet")
        reply = await self._run(active)
        return Decision.from_reply(active, reply)

    async def _run(self, limits: Sequence[Limit]) -> Sequence[Any]:
        keys = [limit.key for limit in limits]
        args = [PERIOD_MS, *(limit.per_minute for limit in limits)]
        try:
            async with asyncio.timeout(self.timeout_s):
                reply: Sequence[Any] = await self._script(keys=keys, args=args)
        except (RedisError, OSError, TimeoutError) as error:
            self._trip(error)
            raise RateLimiterUnavailable(f"Redis unavailable: {type(error).__name__}") from error
        return reply

    def _trip(self, error: BaseException) -> None:
        self._down_until = time.monotonic() + self.cooldown_s
        logger.warning(
            "rate limiter: Redis unavailable (%s: %s); limits fail open (the token endpoint "
            "fails closed) for %.0f s",
            type(error).__name__,
            error,
            self.cooldown_s,
        )


def limiter_for(app: Any) -> RateLimiter:
    """The app's limiter, on the app's Redis client (rebuilt if the lifespan replaced it)."""
    redis: Redis = app.state.docflow.redis
    limiter: RateLimiter | None = getattr(app.state, "docflow_rate_limiter", None)
    if limiter is None or limiter.redis is not redis:
        limiter = RateLimiter(redis)
        app.state.docflow_rate_limiter = limiter
    return limiter
