"""Access tokens of the built-in issuer (HS256 via joserfc): sub, tenant_id, role.

Verification accepts only the algorithms we issue, checks issuer, audience and expiry, and
returns the claims docflow relies on. (External IdP tokens via JWKS: see ``verify``.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from uuid import UUID, uuid4

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from joserfc.jwt import JWTClaimsRegistry

from docflow.settings import Settings

BUILT_IN_ALGORITHMS = ["HS256"]
ROLES = ("viewer", "editor", "owner")


class InvalidTokenError(ValueError):
    """The token is missing, malformed, forged, expired or not meant for us."""


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    tenant_id: UUID
    role: str
    expires_at: int


def _key(settings: Settings) -> OctKey:
    return OctKey.import_key(settings.jwt_secret.encode())


def issue_access_token(
    settings: Settings, *, subject: str, tenant_id: UUID, role: str, ttl_s: int | None = None
) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    lifetime = settings.access_token_ttl_s if ttl_s is None else ttl_s
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": subject,
        "tenant_id": str(tenant_id),
        "role": role,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid4().hex,
    }
    token = jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, _key(settings))
    return token, lifetime


def verify_built_in(settings: Settings, token: str) -> TokenClaims:
    try:
        decoded = jwt.decode(token, _key(settings), algorithms=BUILT_IN_ALGORITHMS)
        registry = JWTClaimsRegistry(
            iss={"essential": True, "value": settings.jwt_issuer},
            aud={"essential": True, "value": settings.jwt_audience},
            sub={"essential": True},
            exp={"essential": True},
            tenant_id={"essential": True},
            role={"essential": True, "values": list(ROLES)},
        )
        registry.validate(decoded.claims)
        return TokenClaims(
            subject=str(decoded.claims["sub"]),
            tenant_id=UUID(str(decoded.claims["tenant_id"])),
            role=str(decoded.claims["role"]),
            expires_at=int(decoded.claims["exp"]),
        )
    except (JoseError, ValueError, KeyError, TypeError) as error:
        raise InvalidTokenError(f"invalid access token: {error}") from error
