"""Per-account sign-in throttling, besides the per-IP limit, in Redis.

Password guessing against one account is slowed where it comes from, without letting an
attacker lock the person out:

- per (tenant, account, client IP): the first ``FREE_FAILURES`` wrong passwords cost
  nothing; after that each further attempt from that IP must wait twice as long as the
  last (1 s, 2 s, 4 s, ... at most ``MAX_WAIT_S``) after the latest failure. A person at
  another address is not slowed by it;
- per (tenant, account), from every address: after ``ACCOUNT_FAILURES_PER_HOUR`` wrong
  passwords within an hour (a guessing campaign spread over many addresses) the account
  takes no password for the rest of that hour; the most an attacker can cost a person.

A right password clears that address's failures. Keys hold a hash of the email, never
the email. When Redis does not answer, sign-in fails closed, as the per-IP limit does
(ADR-007).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from uuid import UUID

from redis.asyncio import Redis

KEY_PREFIX = "docflow:login:"
FREE_FAILURES = 5
MAX_WAIT_S = 60
ACCOUNT_FAILURES_PER_HOUR = 50
ADDRESS_MEMORY_S = 900  # an address's failures are forgotten 15 minutes after the last


@dataclass(frozen=True)
class Throttled:
    retry_after_s: int
    reason: str


def _account(tenant_id: UUID, email: str) -> str:
    digest = hashlib.sha256(f"{tenant_id}:{email}".encode()).hexdigest()[:32]
    return f"{KEY_PREFIX}{digest}"


def wait_after(failures: int) -> int:
    """Seconds an address must wait after its latest failure, given its failures so far."""
    if failures < FREE_FAILURES:
        return 0
    return min(MAX_WAIT_S, 1 << min(failures - FREE_FAILURES, 16))


class LoginThrottle:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def check(self, tenant_id: UUID, email: str, address: str) -> Throttled | None:
        """Whether this attempt must wait (and how long), before the password is checked."""
        account = _account(tenant_id, email)
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(f"{account}:all")
        pipe.ttl(f"{account}:all")
        pipe.get(f"{account}:{address}")
        pipe.pttl(f"{account}:{address}")
        total, total_ttl, failures, memory_ms = await pipe.execute()
        if int(total or 0) >= ACCOUNT_FAILURES_PER_HOUR:
            return Throttled(
                max(1, int(total_ttl)),
                "too many wrong passwords for this account within an hour",
            )
        since_last_s = ADDRESS_MEMORY_S - max(0, int(memory_ms)) / 1000
        wait = wait_after(int(failures or 0)) - since_last_s
        if failures is not None and wait > 0:
            return Throttled(math.ceil(wait), "too many wrong passwords from this address")
        return None

    async def failed(self, tenant_id: UUID, email: str, address: str) -> None:
        account = _account(tenant_id, email)
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(f"{account}:{address}")
        pipe.expire(f"{account}:{address}", ADDRESS_MEMORY_S)
        pipe.incr(f"{account}:all")
        pipe.expire(f"{account}:all", 3600, nx=True)
        await pipe.execute()

    async def succeeded(self, tenant_id: UUID, email: str, address: str) -> None:
        await self.redis.delete(f"{_account(tenant_id, email)}:{address}")
