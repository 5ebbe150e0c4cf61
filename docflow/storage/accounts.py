"""Users and memberships: who may sign in, and with which role in which tenant.

``memberships`` and ``tenants`` have row-level security by tenant; ``users`` shows the
application role only the members of the tenant it is scoped to (migration 0003), and
the role writes no user row: finding a person by email and creating one go through two
SECURITY DEFINER functions that answer an id, never a password hash. The repository is
bound to one tenant, every query filters by it, and it is meant to run inside
``tenant_session(engine, tenant_id)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID, uuid4

from sqlalchemy import and_, delete, func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from docflow.auth.tokens import ROLES
from docflow.storage.models import Membership, Tenant, User, utcnow
from docflow.storage.repositories import NotFoundError

OWNER = "owner"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL_LENGTH = 320


class AlreadyMemberError(ValueError):
    """The user already has a membership in this tenant."""


class LastOwnerError(ValueError):
    """Removing this member would leave the tenant without an owner."""


def normalize_email(email: str) -> str:
    """The canonical form of an email address; ValueError when it is not one."""
    normalized = email.strip().lower()
    if len(normalized) > MAX_EMAIL_LENGTH or not _EMAIL.match(normalized):
        raise ValueError(f"not an email address: {email!r}")
    return normalized


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    return role


@dataclass(frozen=True)
class Member:
    user_id: UUID
    email: str
    role: str


@dataclass(frozen=True)
class UserRef:
    """A user found or created by email: enough to make them a member, no hash."""

    id: UUID
    email: str


@dataclass(frozen=True)
class LoginCandidate:
    """A user found by email, with their role in the tenant (None: not a member)."""

    user_id: UUID
    password_hash: str | None
    role: str | None


class AccountRepository:
    """Users and the memberships of one tenant."""

    def __init__(self, tenant_id: UUID, session: AsyncSession) -> None:
        self.tenant_id = tenant_id
        self.session = session

    async def tenant_exists(self) -> bool:
        query = select(Tenant.id).where(Tenant.id == self.tenant_id)
        return (await self.session.exec(query)).first() is not None

    async def login_candidate(self, email: str) -> LoginCandidate | None:
        """The user with this email and their role here, in one query."""
        membership = and_(
            col(Membership.user_id) == col(User.id), col(Membership.tenant_id) == self.tenant_id
        )
        query = (
            select(User.id, User.password_hash, Membership.role)
            .outerjoin(Membership, membership)
            .where(User.email == email)
        )
        row = (await self.session.exec(query)).first()
        return None if row is None else LoginCandidate(*row)

    async def role_of(self, user_id: UUID) -> str | None:
        """The user's role in this tenant, or None when they are no member."""
        membership = await self._membership(user_id)
        return None if membership is None else membership.role

    async def user_id(self, email: str) -> UUID | None:
        """The id of the user with this email, in any tenant (none: no such user)."""
        found = await self.session.exec(select(func.docflow_user_id(email)))
        user_id: UUID | None = found.one()
        return user_id

    async def ensure_user(self, email: str, password_hash: str | None) -> tuple[UserRef, bool]:
        """The user with this email, created (race-safe) when missing; and whether it was."""
        new_id = uuid4()
        created = select(func.docflow_create_user(new_id, email, password_hash))
        user_id: UUID = (await self.session.exec(created)).one()
        return UserRef(user_id, email), user_id == new_id

    async def add_member(self, user: UserRef, role: str) -> Member:
        """Make ``user`` a member with ``role``; AlreadyMemberError if they are one."""
        new_id = uuid4()
        values = {"id": new_id, "tenant_id": self.tenant_id, "user_id": user.id, "role": role}
        statement = insert(Membership).values(**values, created_at=utcnow())
        await self.session.exec(statement.on_conflict_do_nothing())
        membership = await self._membership(user.id)
        if membership is None or membership.id != new_id:
            raise AlreadyMemberError(f"{user.email} is already a member")
        return Member(user_id=user.id, email=user.email, role=role)

    async def list_members(self) -> list[Member]:
        query = (
            select(User.id, User.email, Membership.role)
            .join(Membership, col(Membership.user_id) == col(User.id))
            .where(Membership.tenant_id == self.tenant_id)
            .order_by(col(User.email))
        )
        return [Member(*row) for row in (await self.session.exec(query)).all()]

    async def get_member(self, user_id: UUID) -> Member:
        query = (
            select(User.id, User.email, Membership.role)
            .join(Membership, col(Membership.user_id) == col(User.id))
            .where(Membership.tenant_id == self.tenant_id, Membership.user_id == user_id)
        )
        row = (await self.session.exec(query)).first()
        if row is None:
            raise NotFoundError(f"member {user_id} not found")
        return Member(*row)

    async def remove_member(self, user_id: UUID) -> None:
        """Remove the membership; LastOwnerError when it is the tenant's only owner.

        The owners' rows are locked first, so two owners removing each other at the same
        time cannot both succeed.
        """
        owners = await self._lock_owners()
        membership = await self._membership(user_id)
        if membership is None:
            raise NotFoundError(f"member {user_id} not found")
        if membership.role == OWNER and len(owners) <= 1:
            raise LastOwnerError("the last owner of a tenant cannot be removed")
        await self.session.exec(
            delete(Membership).where(
                col(Membership.tenant_id) == self.tenant_id, col(Membership.id) == membership.id
            )
        )

    async def _lock_owners(self) -> list[Membership]:
        query = (
            select(Membership)
            .where(Membership.tenant_id == self.tenant_id, Membership.role == OWNER)
            .with_for_update()
        )
        return list((await self.session.exec(query)).all())

    async def _membership(self, user_id: UUID) -> Membership | None:
        query = select(Membership).where(
            Membership.tenant_id == self.tenant_id, Membership.user_id == user_id
        )
        return (await self.session.exec(query)).first()
