"""Request dependencies: who is calling, for which tenant, with which role.

The tenant always comes from the verified token, never from the request.
Route signatures read like sentences: ``async def get(project: ProjectForViewer)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID


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
