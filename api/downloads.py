"""Signed, expiring download links for export ZIPs (HS256, a key of their own purpose)."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from uuid import UUID

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from joserfc.jwt import JWTClaimsRegistry

from docflow.settings import Settings

AUDIENCE = "docflow-download"


class InvalidDownloadTokenError(ValueError):
    """Tampered, expired or not a download token."""


@dataclass(frozen=True)
class DownloadGrant:
    tenant_id: UUID
    project_id: UUID
    export_id: UUID


def _key(settings: Settings) -> OctKey:
    # A derived key: an access token can never be replayed as a download token, nor back.
    derived = hashlib.sha256(
        b"docflow-download:" + settings.jwt_secret.get_secret_value().encode()
    ).digest()
    return OctKey.import_key(derived)


def sign_download(settings: Settings, grant: DownloadGrant) -> tuple[str, int]:
    expires_at = int(time.time()) + settings.download_token_ttl_s
    claims = {
        "aud": AUDIENCE,
        "tenant_id": str(grant.tenant_id),
        "project_id": str(grant.project_id),
        "export_id": str(grant.export_id),
        "exp": expires_at,
    }
    return jwt.encode({"alg": "HS256"}, claims, _key(settings)), expires_at


def verify_download(settings: Settings, token: str) -> DownloadGrant:
    try:
        decoded = jwt.decode(token, _key(settings), algorithms=["HS256"])
        JWTClaimsRegistry(
            aud={"essential": True, "value": AUDIENCE}, exp={"essential": True}
        ).validate(decoded.claims)
        return DownloadGrant(
            tenant_id=UUID(str(decoded.claims["tenant_id"])),
            project_id=UUID(str(decoded.claims["project_id"])),
            export_id=UUID(str(decoded.claims["export_id"])),
        )
    except (JoseError, ValueError, KeyError) as error:
        raise InvalidDownloadTokenError(str(error)) from error
