"""Quotas per tenant, in Redis: LLM and embedding tokens per calendar month (UTC), and how
many runs a tenant may have going at once. Keys are prefixed by tenant."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID

from redis.asyncio import Redis
from redis.exceptions import RedisError

from docflow.settings import Settings

logger = logging.getLogger(__name__)

MONTH_TTL_S = 40 * 24 * 3600  # a month's counters outlive the month, then go


class Meter(StrEnum):
    LLM_TOKENS = "llm_tokens"
    EMBEDDING_TOKENS = "embedding_tokens"


@dataclass(frozen=True)
class QuotaStatus:
    meter: Meter
    used: int
    limit: int  # 0: unlimited

    @property
    def exceeded(self) -> bool:
        return self.limit > 0 and self.used >= self.limit

    def describe(self) -> str:
        what = self.meter.value.replace("_", " ")
        return f"the tenant has used {self.used} of its {self.limit} {what} this month"


def month_of(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).strftime("%Y-%m")


def quota_key(tenant_id: UUID, meter: Meter, month: str) -> str:
    return f"docflow:quota:{tenant_id}:{month}:{meter.value}"


def _limit(settings: Settings, meter: Meter) -> int:
    if meter is Meter.LLM_TOKENS:
        return settings.quota_llm_tokens_per_month
    return settings.quota_embedding_tokens_per_month


class Quotas:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self._redis = redis
        self._settings = settings

    async def record(self, tenant_id: UUID, meter: Meter, amount: int) -> None:
        """Add ``amount`` to this month's usage, best effort: while Redis is down the
        amount is logged and lost, and the work that used it is not failed for it."""
        if amount <= 0:
            return
        key = quota_key(tenant_id, meter, month_of())
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incrby(key, amount)
                pipe.expire(key, MONTH_TTL_S)
                await pipe.execute()
        except (RedisError, OSError) as error:
            logger.warning(
                "usage of %d %s for tenant %s not counted: Redis unavailable (%s)",
                amount, meter.value, tenant_id, type(error).__name__,
            )  # fmt: skip

    async def used(self, tenant_id: UUID, meter: Meter) -> int:
        value = await self._redis.get(quota_key(tenant_id, meter, month_of()))
        return int(value or 0)

    async def status(self, tenant_id: UUID) -> list[QuotaStatus]:
        """The meters that have a limit (an unlimited one costs no Redis call)."""
        return [
            QuotaStatus(meter=meter, used=await self.used(tenant_id, meter), limit=limit)
            for meter in Meter
            if (limit := _limit(self._settings, meter)) > 0
        ]

    async def first_exceeded(self, tenant_id: UUID) -> QuotaStatus | None:
        return next((status for status in await self.status(tenant_id) if status.exceeded), None)
