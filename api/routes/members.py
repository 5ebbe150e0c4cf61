"""Members of the caller's tenant: who they are and which role they have.

Everything is scoped to the tenant of the verified token; a user who is not a member here
(including another tenant's member) answers 404.
"""

from __future__ import annotations

import asyncio
from uuid import UUID

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import Field, field_validator

from api.deps import Owner, Role, StateDep, Viewer
from api.schemas import RequestModel, ResponseModel
from docflow.auth.passwords import MAX_PASSWORD_LENGTH, check_password_policy, hash_password
from docflow.storage.accounts import (
    AccountRepository,
    AlreadyMemberError,
    LastOwnerError,
    Member,
    normalize_email,
)
from docflow.storage.db import tenant_session
from docflow.storage.repositories import NotFoundError

router = APIRouter(prefix="/api/v1/members", tags=["members"])


class MemberOut(ResponseModel):
    user_id: UUID
    email: str
    role: Role


class MemberCreate(RequestModel):
    """A member to add: an existing user by email, or a new user (then with a password)."""

    email: str = Field(max_length=320, examples=["ada@example.com"])
    role: Role
    password: str | None = Field(
        default=None,
        max_length=MAX_PASSWORD_LENGTH,
        description="Only for a new user (at least 12 characters); an existing user keeps "
        "their own password.",
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalize_email(value)

    @field_validator("password")
    @classmethod
    def _password(cls, value: str | None) -> str | None:
        if value is not None:
            check_password_policy(value)
        return value


def _out(member: Member) -> MemberOut:
    return MemberOut(user_id=member.user_id, email=member.email, role=Role(member.role))


@router.get("", summary="The members of your tenant")
async def list_members(state: StateDep, principal: Viewer) -> list[MemberOut]:
    async with tenant_session(state.engine, principal.tenant_id) as session:
        members = await AccountRepository(principal.tenant_id, session).list_members()
    return [_out(member) for member in members]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add a member (owner)")
async def add_member(state: StateDep, principal: Owner, body: MemberCreate) -> MemberOut:
    """Adds the user with this email, creating the user first when there is none."""
    password_hash = await asyncio.to_thread(hash_password, body.password) if body.password else None
    async with tenant_session(state.engine, principal.tenant_id) as session:
        repo = AccountRepository(principal.tenant_id, session)
        if password_hash is None and await repo.user_id(body.email) is None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                detail="there is no user with this email yet: give a password to create one",
            )
        user, created = await repo.ensure_user(body.email, password_hash)
        if password_hash is not None and not created:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                detail="this user already exists and keeps their own password: leave it out",
            )
        try:
            member = await repo.add_member(user, body.role.value)
        except AlreadyMemberError as error:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(error)) from error
    return _out(member)


@router.delete(
    "/{user_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a member (owner)"
)
async def remove_member(state: StateDep, principal: Owner, user_id: UUID) -> Response:
    """The user stays (they may belong to other tenants); their membership here goes.
    Their tokens stop working at once on this API process and within
    ``api.membership.MEMBERSHIP_TTL_S`` on the others."""
    async with tenant_session(state.engine, principal.tenant_id) as session:
        try:
            await AccountRepository(principal.tenant_id, session).remove_member(user_id)
        except NotFoundError as error:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail="member not found") from error
        except LastOwnerError as error:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(error)) from error
    state.memberships.forget(principal.tenant_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
