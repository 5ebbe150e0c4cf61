"""Request dependencies: who is calling, for which tenant, with which role.

The tenant always comes from the verified token, never from the request.
Route signatures read like sentences: ``async def get(project: ProjectForViewer)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.datastructures import Headers
from starlette.types import Scope

from api.state import AppState
from docflow.auth.tokens import InvalidTokenError, TokenClaims
from docflow.contracts import TenantScope
from docflow.storage.db import tenant_session
from docflow.storage.models import Project
from docflow.storage.repositories import NotFoundError, TenantRepository, find_project


class Role(StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return ROLE_RANK[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


ROLE_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.OWNER: 2}


@dataclass(frozen=True)
class Principal:
    """The verified caller: from the token's ``sub``, ``tenant_id`` and ``role`` claims."""

    subject: str  # user id (built-in issuer) or the IdP's subject
    tenant_id: UUID
    role: Role


# --- dependencies -------------------------------------------------------------------------

# OAuth2 password flow: Swagger UI's "Authorize" form signs in with username, password and
# the tenant slug as client_id; API clients send `Authorization: Bearer <token>`.
bearer = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    auto_error=False,
    description="Access token from POST /api/v1/auth/token (client_id = tenant slug)",
)


# Dependencies are ``async def`` even where they do not await: FastAPI runs a plain
# ``def`` dependency in a thread pool, a thread hop on every request.
async def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.docflow
    return state


StateDep = Annotated[AppState, Depends(app_state)]

CLAIMS_SCOPE_KEY = "docflow.verified_claims"  # (token, its claims), once verified


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def bearer_token(scope: Scope) -> str | None:
    """The request's ``Authorization: Bearer`` token, as ``bearer`` reads it."""
    scheme, token = get_authorization_scheme_param(Headers(scope=scope).get("authorization"))
    return token if scheme.lower() == "bearer" and token else None


async def verified_once(state: AppState, scope: Scope, token: str) -> TokenClaims:
    """The token's claims, verified once per request: the rate-limit middleware needs the
    tenant before any route runs, and ``current_principal`` reuses what it found."""
    known = scope.get(CLAIMS_SCOPE_KEY)
    if known is not None and known[0] == token:
        claims: TokenClaims = known[1]
        return claims
    claims = await state.verify_token(token)
    scope[CLAIMS_SCOPE_KEY] = (token, claims)
    return claims


async def current_principal(
    request: Request,
    state: StateDep,
    token: Annotated[str | None, Depends(bearer)],
) -> Principal:
    """The caller, from a verified bearer token only: 401 otherwise."""
    if not token:
        raise _unauthorized("missing bearer token")
    try:
        claims = await verified_once(state, request.scope, token)
    except InvalidTokenError as error:
        raise _unauthorized(str(error)) from error
    return Principal(subject=claims.subject, tenant_id=claims.tenant_id, role=Role(claims.role))


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(needed: Role) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.role.allows(needed):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"this needs the {needed.value} role; you are {principal.role.value}",
            )
        return principal

    return check


Viewer = Annotated[Principal, Depends(require_role(Role.VIEWER))]
Editor = Annotated[Principal, Depends(require_role(Role.EDITOR))]
Owner = Annotated[Principal, Depends(require_role(Role.OWNER))]


@dataclass(frozen=True)
class ProjectAccess:
    """A project the caller may act on, checked against the caller's tenant (404 if not)."""

    principal: Principal
    project: Project

    @property
    def scope(self) -> TenantScope:
        return TenantScope(tenant_id=self.principal.tenant_id, project_id=self.project.id)


@asynccontextmanager
async def tenant_repository(state: AppState, tenant_id: UUID) -> AsyncIterator[TenantRepository]:
    """A repository bound to ``tenant_id``, in one RLS-scoped transaction."""
    async with tenant_session(state.engine, tenant_id) as session:
        yield TenantRepository(tenant_id, session)


async def _project_for(state: AppState, principal: Principal, project_id: UUID) -> ProjectAccess:
    try:
        project = await find_project(state.engine, principal.tenant_id, project_id)
    except NotFoundError as error:
        # Another tenant's project and a missing one answer alike: no existence leak.
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="project not found") from error
    return ProjectAccess(principal=principal, project=project)


async def project_for_viewer(state: StateDep, principal: Viewer, project_id: UUID) -> ProjectAccess:
    return await _project_for(state, principal, project_id)


async def project_for_editor(state: StateDep, principal: Editor, project_id: UUID) -> ProjectAccess:
    return await _project_for(state, principal, project_id)


async def project_for_owner(state: StateDep, principal: Owner, project_id: UUID) -> ProjectAccess:
    return await _project_for(state, principal, project_id)


ProjectForViewer = Annotated[ProjectAccess, Depends(project_for_viewer)]
ProjectForEditor = Annotated[ProjectAccess, Depends(project_for_editor)]
ProjectForOwner = Annotated[ProjectAccess, Depends(project_for_owner)]
