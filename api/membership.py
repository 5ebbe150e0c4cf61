"""A built-in token is only as good as the membership behind it, checked every few seconds.

An access token lives ``DOCFLOW_ACCESS_TOKEN_TTL_S`` (15 minutes); a member removed or
demoted in the meantime must not keep their old rights that long. Each request with a
token of the built-in issuer reads the caller's current role in the token's tenant from
``memberships``, kept per API process for ``MEMBERSHIP_TTL_S``: a removed member is
refused within that time on every replica (at once on the replica that removed them), a
demoted one gets the lower role. Tokens of an external identity provider carry their
own role and are not checked here (their users have no row in docflow).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from docflow.auth.tokens import ROLES, InvalidTokenError, TokenClaims
from docflow.storage.accounts import AccountRepository
from docflow.storage.db import tenant_session

MEMBERSHIP_TTL_S = 5.0
MAX_KEPT = 10_000  # memberships kept before the expired ones are dropped


class Memberships:
    """Current roles by (tenant, user), read from PostgreSQL, kept ``ttl_s`` seconds."""

    def __init__(
        self,
        engine: AsyncEngine,
        ttl_s: float = MEMBERSHIP_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._ttl_s = ttl_s
        self._clock = clock
        self._known: dict[tuple[UUID, UUID], tuple[str | None, float]] = {}

    async def role(self, tenant_id: UUID, user_id: UUID) -> str | None:
        """The user's role in the tenant now, or None when they are no member."""
        key = (tenant_id, user_id)
        known = self._known.get(key)
        if known is not None and known[1] > self._clock():
            return known[0]
        async with tenant_session(self._engine, tenant_id) as session:
            role = await AccountRepository(tenant_id, session).role_of(user_id)
        now = self._clock()
        if len(self._known) >= MAX_KEPT:  # forget what has expired: memory stays bounded
            self._known = {k: v for k, v in self._known.items() if v[1] > now}
        self._known[key] = (role, now + self._ttl_s)
        return role

    def forget(self, tenant_id: UUID, user_id: UUID) -> None:
        """Read this membership afresh next time (it was just changed here)."""
        self._known.pop((tenant_id, user_id), None)

    async def checked(self, claims: TokenClaims) -> TokenClaims:
        """The claims with the role the membership has now (never more than the token's);
        ``InvalidTokenError`` when the membership has ended."""
        try:
            user_id = UUID(claims.subject)
        except ValueError:
            raise InvalidTokenError("invalid access token: its subject is not a user") from None
        current = await self.role(claims.tenant_id, user_id)
        if current is None:
            raise InvalidTokenError("your membership of this tenant has ended: sign in again")
        lower = min(current, claims.role, key=ROLES.index)
        return TokenClaims(claims.subject, claims.tenant_id, lower, claims.expires_at)
