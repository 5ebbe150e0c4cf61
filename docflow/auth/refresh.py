"""Refresh tokens of the built-in issuer (RFC 6749 §6): opaque, single use, in Redis.

A sign-in gets an access token (a JWT of ``access_token_ttl_s``, which nothing can revoke)
and a refresh token (256 random bits). A client trades the refresh token for a new pair
before the access token runs out: the web app does, so a session lasts while its tab is
open and in use, and ends ``refresh_token_ttl_s`` after its last renewal. Only the token's
SHA-256 is stored, so the Redis data alone cannot resume a session. Each use takes the
token out (GETDEL) and issues a new one: a copy used after the original is refused.
Signing out revokes it (RFC 7009). Who the token was issued to is checked again at every
renewal (``api.routes.auth``): a member removed or given another role is seen at once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from uuid import UUID

from redis.asyncio import Redis

KEY_PREFIX = "docflow:refresh:"
TOKEN_BYTES = 32


@dataclass(frozen=True)
class RefreshGrant:
    """Who a refresh token was issued to."""

    user_id: UUID
    tenant_id: UUID


class RefreshTokens:
    def __init__(self, redis: Redis, lifetime_s: int) -> None:
        self._redis, self.lifetime_s = redis, lifetime_s

    async def issue(self, grant: RefreshGrant) -> str:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        value = json.dumps({"user_id": str(grant.user_id), "tenant_id": str(grant.tenant_id)})
        await self._redis.set(_key(token), value, ex=self.lifetime_s)
        return token

    async def redeem(self, token: str) -> RefreshGrant | None:
        """The grant of ``token``, which is used up by this call; None when unknown,
        expired, revoked or already used."""
        stored = await self._redis.getdel(_key(token))
        if stored is None:
            return None
        value = json.loads(stored)
        return RefreshGrant(user_id=UUID(value["user_id"]), tenant_id=UUID(value["tenant_id"]))

    async def revoke(self, token: str) -> None:
        await self._redis.delete(_key(token))


def _key(token: str) -> str:
    return KEY_PREFIX + hashlib.sha256(token.encode()).hexdigest()
