"""Tokens of an external identity provider, verified against its JWKS.

The key set is fetched with httpx and cached for ``ttl_s`` (5 minutes); a token whose
``kid`` is not in the cached set triggers one refetch (key rotation), at most once per
``refetch_cooldown_s``, so a stream of made-up kids cannot hammer the IdP.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from docflow.auth.tokens import InvalidTokenError, TokenClaims, unverified_header, verify_external
from docflow.settings import Settings

logger = logging.getLogger(__name__)

JWKS_TTL_S = 300.0
JWKS_REFETCH_COOLDOWN_S = 10.0
JWKS_TIMEOUT_S = 5.0
# Only asymmetric signing keys: a symmetric ("oct") key published in a JWKS is refused.
SIGNING_KEY_TYPES = ("RSA", "EC")


def parse_key_set(document: object) -> KeySet:
    """The signing keys of a JWKS document (RSA and EC keys not marked for encryption)."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document: no 'keys' list")
    keys = [
        key
        for key in document["keys"]
        if isinstance(key, dict) and key.get("kty") in SIGNING_KEY_TYPES and key.get("use") != "enc"
    ]
    if not keys:
        raise ValueError("the JWKS holds no RSA or EC signing key")
    return KeySet.import_key_set({"keys": keys})


@dataclass
class JwksClient:
    """A cached JWKS, fetched on first use and refreshed when stale or on an unknown kid.

    Fetch attempts are at least ``refetch_cooldown_s`` apart, successful or not; when a
    refresh fails, the keys already held keep serving.
    """

    url: str
    ttl_s: float = JWKS_TTL_S
    refetch_cooldown_s: float = JWKS_REFETCH_COOLDOWN_S
    timeout_s: float = JWKS_TIMEOUT_S
    _keys: KeySet | None = field(default=None, init=False, repr=False)
    _fetched_at: float = field(default=-math.inf, init=False, repr=False)
    _attempted_at: float = field(default=-math.inf, init=False, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    async def keys_for(self, kid: str | None) -> KeySet:
        """The key set, refetched first when stale or when it lacks ``kid``."""
        async with self._lock:
            now = time.monotonic()
            if (
                self._wants_refresh(kid, now)
                and now - self._attempted_at >= self.refetch_cooldown_s
            ):
                await self._refresh(now)
            if self._keys is None:
                raise InvalidTokenError("the identity provider's JWKS is unavailable")
            return self._keys

    def _wants_refresh(self, kid: str | None, now: float) -> bool:
        if self._keys is None or now - self._fetched_at >= self.ttl_s:
            return True
        return kid is not None and not any(key.kid == kid for key in self._keys)

    async def _refresh(self, now: float) -> None:
        self._attempted_at = now
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.get(self.url, headers={"Accept": "application/json"})
                response.raise_for_status()
                keys = parse_key_set(response.json())
        except (httpx.HTTPError, ValueError, JoseError) as error:
            logger.warning("fetching the JWKS at %s failed: %s", self.url, error)
            return
        self._keys = keys
        self._fetched_at = now


@dataclass
class ExternalIssuer:
    """An external IdP: its issuer, our audience at it, and its cached JWKS."""

    issuer: str
    audience: str
    jwks: JwksClient

    @classmethod
    def from_settings(cls, settings: Settings) -> ExternalIssuer | None:
        if not (settings.oidc_jwks_url and settings.oidc_issuer and settings.oidc_audience):
            return None
        return cls(settings.oidc_issuer, settings.oidc_audience, JwksClient(settings.oidc_jwks_url))

    async def verify(self, token: str) -> TokenClaims:
        kid = unverified_header(token).get("kid")
        keys = await self.jwks.keys_for(kid if isinstance(kid, str) else None)
        return verify_external(token, keys, issuer=self.issuer, audience=self.audience)
