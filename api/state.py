"""What the API process holds for its lifetime."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from docflow.auth.tokens import TokenClaims, verify_built_in
from docflow.settings import Settings


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    temporal: Client
    redis: Redis

    async def verify_token(self, token: str) -> TokenClaims:
        """Verify a bearer token (built-in issuer; external IdP via JWKS when configured)."""
        return verify_built_in(self.settings, token)
