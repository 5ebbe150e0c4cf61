"""Access tokens of the built-in issuer (HS256 via joserfc): sub, tenant_id, role.

Verification accepts only the algorithms we issue, checks issuer, audience and expiry, and
returns the claims docflow relies on. Tokens of an external IdP (RS256/ES256, keys from its
JWKS: see ``docflow.auth.jwks``) go through ``verify_external``; each issuer is held to its
own algorithms, so a token can never pick its key type (no "none", no RS/HS confusion).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from uuid import UUID, uuid4

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey
from joserfc.jwt import JWTClaimsRegistry, Token

from docflow.settings import PLACEHOLDER_JWT_SECRET, Settings

BUILT_IN_ALGORITHMS = ["HS256"]
EXTERNAL_ALGORITHMS = ["RS256", "ES256"]
EXTERNAL_LEEWAY_S = 30  # clock skew tolerated on an external IdP's exp/nbf
MIN_SECRET_BYTES = 32
PLACEHOLDER_SECRET = PLACEHOLDER_JWT_SECRET
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
    return _oct_key(settings.jwt_secret.get_secret_value())


@lru_cache(maxsize=4)
def _oct_key(secret: str) -> OctKey:
    """The signing key, imported once per secret (not on every request)."""
    return OctKey.import_key(secret.encode())


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


def unverified_header(token: str) -> dict[str, object]:
    """The header of a compact JWS, read without verifying anything (to route it)."""
    try:
        encoded = token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except ValueError as error:
        raise InvalidTokenError("invalid access token: malformed header") from error
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        raise InvalidTokenError("invalid access token: malformed header")
    return header


def _claims(decoded: Token, issuer: str, audience: str, leeway: int = 0) -> TokenClaims:
    registry = JWTClaimsRegistry(
        leeway=leeway,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        sub={"essential": True},
        exp={"essential": True},
        tenant_id={"essential": True},
        role={"essential": True, "values": list(ROLES)},
    )
    registry.validate(decoded.claims)
    role = decoded.claims["role"]
    if not isinstance(role, str):  # the registry accepts a list holding one of the values
        raise InvalidTokenError("invalid access token: role must be a string")
    return TokenClaims(
        subject=str(decoded.claims["sub"]),
        tenant_id=UUID(str(decoded.claims["tenant_id"])),
        role=role,
        expires_at=int(decoded.claims["exp"]),
    )


@contextmanager
def _invalid_token_on_error() -> Iterator[None]:
    """Turn whatever a forged, malformed or foreign token raises into InvalidTokenError."""
    try:
        yield
    except InvalidTokenError:
        raise
    except (JoseError, ValueError, KeyError, TypeError) as error:
        raise InvalidTokenError(f"invalid access token: {error}") from error


def verify_built_in(settings: Settings, token: str) -> TokenClaims:
    """Claims of a token of the built-in issuer (HS256 only); InvalidTokenError otherwise."""
    with _invalid_token_on_error():
        decoded = jwt.decode(token, _key(settings), algorithms=BUILT_IN_ALGORITHMS)
        return _claims(decoded, settings.jwt_issuer, settings.jwt_audience)


class VerifiedTokens:
    """Built-in tokens whose signature and claims were checked, kept until they expire: a
    token is verified once, not on every request. Keyed by the whole token, signature
    included; what a token's holder may do now is still checked per request (memberships).
    """

    def __init__(
        self, settings: Settings, max_kept: int = 10_000, clock: Callable[[], float] = time.time
    ) -> None:
        self._settings = settings
        self._max_kept = max_kept
        self._clock = clock
        self._known: dict[str, TokenClaims] = {}

    def verify(self, token: str) -> TokenClaims:
        """``verify_built_in``, from memory while the token has not expired."""
        now = self._clock()
        known = self._known.get(token)
        if known is not None and known.expires_at > now:
            return known
        claims = verify_built_in(self._settings, token)
        if len(self._known) >= self._max_kept:  # drop the expired; if none, start afresh
            kept = {key: value for key, value in self._known.items() if value.expires_at > now}
            self._known = kept if len(kept) < self._max_kept else {}
        self._known[token] = claims
        return claims


def verify_external(token: str, keys: KeySet, *, issuer: str, audience: str) -> TokenClaims:
    """Claims of an external IdP's token (RS256/ES256 against its JWKS keys)."""
    with _invalid_token_on_error():
        decoded = jwt.decode(token, keys, algorithms=EXTERNAL_ALGORITHMS)
        return _claims(decoded, issuer, audience, leeway=EXTERNAL_LEEWAY_S)


def check_auth_settings(settings: Settings) -> None:
    """Refuse to run with unsafe auth settings: outside development, a placeholder or short
    secret, or a JWKS fetched over plain http; anywhere, a half-configured external IdP."""
    if settings.environment != "development":
        _check_production_secrets(settings)
    oidc = {
        "DOCFLOW_OIDC_JWKS_URL": settings.oidc_jwks_url,
        "DOCFLOW_OIDC_ISSUER": settings.oidc_issuer,
        "DOCFLOW_OIDC_AUDIENCE": settings.oidc_audience,
    }
    missing = [name for name, value in oidc.items() if not value]
    if 0 < len(missing) < len(oidc):
        raise RuntimeError(f"external IdP half-configured: also set {', '.join(missing)}")


def weak_jwt_secret(settings: Settings) -> bool:
    """The published placeholder, or a key shorter than HS256's hash."""
    secret = settings.jwt_secret.get_secret_value()
    return secret == PLACEHOLDER_SECRET or len(secret.encode()) < MIN_SECRET_BYTES


def _check_production_secrets(settings: Settings) -> None:
    if weak_jwt_secret(settings):
        raise RuntimeError(
            f"DOCFLOW_JWT_SECRET must be set to a random secret of at least {MIN_SECRET_BYTES} "
            f"bytes when DOCFLOW_ENV={settings.environment!r} (the built-in placeholder is for "
            "development only)"
        )
    if (settings.oidc_jwks_url or "").startswith("http://"):
        raise RuntimeError("DOCFLOW_OIDC_JWKS_URL must be an https:// URL outside development")
