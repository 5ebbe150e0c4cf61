"""The built-in token issuer: OAuth2 password grant (RFC 6749 §4.3) for local users, the
refresh token grant (§6) that renews a session, and revocation (RFC 7009) at sign-out.

The tenant is named by its slug, in the form field ``tenant`` or, for clients that only
send a client id (Swagger UI's OAuth2 form), as ``client_id`` (in the body or as the user
of HTTP Basic client authentication). Every failure to sign in answers the same 400
``invalid_grant``: unknown user, wrong password, unknown tenant and no membership look
alike, in content and in time (the password check always runs one scrypt derivation).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, TypeGuard
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine

from api.deps import StateDep
from api.errors import LIMITER_UNAVAILABLE, RATE_LIMITED, ProblemError
from api.login_throttle import LoginThrottle
from api.middleware import client_ip
from docflow.admin import tenant_id_for
from docflow.auth.passwords import verify_password_or_dummy
from docflow.auth.refresh import RefreshGrant, RefreshTokens
from docflow.auth.tokens import issue_access_token
from docflow.storage.accounts import AccountRepository, LoginCandidate, normalize_email
from docflow.storage.db import tenant_session
from docflow.text import PROBLEM, text_problem

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_token: str  # single use: trade it for a new pair before the access token ends
    refresh_expires_in: int
    tenant_id: UUID
    role: str


class OAuthErrorResponse(BaseModel):
    error: str
    error_description: str


def oauth_error(error: str, description: str) -> JSONResponse:
    """An RFC 6749 §5.2 error answer."""
    body = OAuthErrorResponse(error=error, error_description=description)
    return JSONResponse(body.model_dump(), status_code=400, headers=NO_STORE)


def basic_client_id(request: Request) -> str | None:
    """The client id of HTTP Basic client authentication (RFC 6749 §2.3.1), if sent."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0] or None


async def _login_candidate(
    engine: AsyncEngine, tenant_id: UUID, username: str
) -> LoginCandidate | None:
    try:
        email = normalize_email(username)
    except ValueError:
        return None
    async with tenant_session(engine, tenant_id) as session:
        return await AccountRepository(tenant_id, session).login_candidate(email)


@dataclass(frozen=True)
class SignedIn:
    user_id: UUID
    role: str


async def authenticate(
    engine: AsyncEngine, tenant_id: UUID, username: str, password: str
) -> SignedIn | None:
    """Who signed in, when the password is right and the user is a member of the tenant."""
    candidate = await _login_candidate(engine, tenant_id, username)
    stored = candidate.password_hash if candidate is not None else None
    valid = await asyncio.to_thread(verify_password_or_dummy, password, stored)
    if not valid or candidate is None or candidate.role is None:
        return None
    return SignedIn(user_id=candidate.user_id, role=candidate.role)


FormField = Annotated[str | None, Form()]


@router.post(
    "/token",
    summary="Exchange a password or a refresh token for an access token (OAuth2)",
    response_model=TokenResponse,
    responses={400: {"model": OAuthErrorResponse, "description": "RFC 6749 error"}},
)
async def token(
    request: Request,
    state: StateDep,
    grant_type: FormField = None,
    username: FormField = None,
    password: FormField = None,
    scope: FormField = None,
    tenant: FormField = None,
    client_id: FormField = None,
    refresh_token: FormField = None,
) -> JSONResponse:
    """Form-encoded. ``grant_type=password``: ``username`` (email), ``password`` and the
    tenant slug as ``tenant`` (or ``client_id``). ``grant_type=refresh_token``: the
    ``refresh_token`` of the last answer, which is used up. ``scope`` is accepted and
    ignored: the role comes from the user's membership in the tenant, checked each time."""
    if grant_type == "refresh_token":
        return await _refresh(state, refresh_token)
    if grant_type != "password":
        if not grant_type:
            return oauth_error("invalid_request", "grant_type is required")
        return oauth_error(
            "unsupported_grant_type", "only grant_type=password and refresh_token are supported"
        )
    slug = tenant or client_id or basic_client_id(request)
    if not username or not password or not slug:
        return oauth_error("invalid_request", "username, password and tenant are required")
    if any(text_problem(value) for value in (username, password, slug)):
        return oauth_error("invalid_request", f"username, password and tenant {PROBLEM}")
    tenant_id = tenant_id_for(slug)
    account, address = username.strip().lower(), client_ip(request.scope)
    throttle = LoginThrottle(state.redis)
    with _redis_needed("sign-in"):
        waiting = await throttle.check(tenant_id, account, address)
        if waiting is not None:
            raise ProblemError(
                429,
                f"{waiting.reason}: try again in {waiting.retry_after_s} s",
                kind=RATE_LIMITED,
                headers={"Retry-After": str(waiting.retry_after_s)},
            )
        signed_in = await authenticate(state.engine, tenant_id, username, password)
        if signed_in is None:
            await throttle.failed(tenant_id, account, address)
            return oauth_error("invalid_grant", "wrong username, password or tenant")
        await throttle.succeeded(tenant_id, account, address)
        return await _tokens(state, tenant_id, signed_in)


async def _refresh(state: StateDep, refresh_token: str | None) -> JSONResponse:
    """A new pair for a refresh token, if it is live and its user still a member."""
    if not _plausible(refresh_token):
        return oauth_error("invalid_request", "refresh_token is required")
    with _redis_needed("renewing a session"):
        grant = await _refresh_tokens(state).redeem(refresh_token)
        if grant is None:
            return oauth_error("invalid_grant", "the session has ended: sign in again")
        async with tenant_session(state.engine, grant.tenant_id) as session:
            role = await AccountRepository(grant.tenant_id, session).role_of(grant.user_id)
        if role is None:
            return oauth_error("invalid_grant", "the session has ended: sign in again")
        return await _tokens(state, grant.tenant_id, SignedIn(user_id=grant.user_id, role=role))


async def _tokens(state: StateDep, tenant_id: UUID, signed_in: SignedIn) -> JSONResponse:
    access_token, lifetime = issue_access_token(
        state.settings, subject=str(signed_in.user_id), tenant_id=tenant_id, role=signed_in.role
    )
    refresh_tokens = _refresh_tokens(state)
    refresh = await refresh_tokens.issue(RefreshGrant(signed_in.user_id, tenant_id))
    body = TokenResponse(
        access_token=access_token,
        expires_in=lifetime,
        refresh_token=refresh,
        refresh_expires_in=refresh_tokens.lifetime_s,
        tenant_id=tenant_id,
        role=signed_in.role,
    )
    return JSONResponse(body.model_dump(mode="json"), headers=NO_STORE)


def _plausible(token: str | None) -> TypeGuard[str]:
    """A refresh token worth looking up: present, storable text, not absurdly long."""
    return token is not None and 0 < len(token) <= 200 and text_problem(token) is None


def _refresh_tokens(state: StateDep) -> RefreshTokens:
    return RefreshTokens(state.redis, state.settings.refresh_token_ttl_s)


@contextmanager
def _redis_needed(what: str) -> Iterator[None]:
    """Redis down: a 503 in words, never a half-issued session."""
    try:
        yield
    except (RedisError, OSError) as error:
        logger.warning("%s unavailable (%s): refused", what, type(error).__name__)
        raise ProblemError(
            503, f"{what} is unavailable for a moment: try again shortly",
            kind=LIMITER_UNAVAILABLE, headers={"Retry-After": "5"},
        ) from error  # fmt: skip


@router.post(
    "/revoke",
    summary="Revoke a refresh token (RFC 7009): signing out",
    status_code=200,
    response_class=Response,
    responses={200: {"description": "Revoked, or it was not live"}},
)
async def revoke(state: StateDep, token: FormField = None) -> Response:
    """Form-encoded ``token``: the refresh token to end. Answers 200 whether or not it was
    live (RFC 7009 §2.2), so the answer says nothing about the token."""
    if _plausible(token):
        with _redis_needed("signing out"):
            await _refresh_tokens(state).revoke(token)
    return Response(status_code=200, headers=NO_STORE)
