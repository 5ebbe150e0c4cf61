"""What the API process holds for its lifetime."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from api.membership import Memberships
from docflow.auth.jwks import ExternalIssuer
from docflow.auth.tokens import (
    BUILT_IN_ALGORITHMS,
    EXTERNAL_ALGORITHMS,
    InvalidTokenError,
    TokenClaims,
    VerifiedTokens,
    check_auth_settings,
    unverified_header,
)
from docflow.settings import Settings


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    temporal: Client
    redis: Redis
    external_issuer: ExternalIssuer | None = field(default=None, init=False)
    memberships: Memberships = field(init=False)
    verified: VerifiedTokens = field(init=False)

    def __post_init__(self) -> None:
        # Built during app start-up: unsafe auth settings stop the API from starting.
        check_auth_settings(self.settings)
        self.external_issuer = ExternalIssuer.from_settings(self.settings)
        self.memberships = Memberships(self.engine)
        self.verified = VerifiedTokens(self.settings)

    async def verify_token(self, token: str) -> TokenClaims:
        """Verify a bearer token: the built-in issuer's HS256, or RS256/ES256 of the external
        IdP (JWKS) when one is configured. The header's ``alg`` only chooses between the two
        verifiers, each of which accepts its own algorithms alone."""
        algorithm = unverified_header(token)["alg"]
        if algorithm in BUILT_IN_ALGORITHMS:
            return await self.memberships.checked(self.verified.verify(token))
        if self.external_issuer is not None and algorithm in EXTERNAL_ALGORITHMS:
            return await self.external_issuer.verify(token)
        raise InvalidTokenError("invalid access token: its algorithm is not accepted")
