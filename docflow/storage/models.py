"""SQLModel tables. Every tenant-owned row carries tenant_id (and project_id where it
belongs); PostgreSQL row-level security (see the first migration) is the second wall.
What a person wrote is stored encrypted with the tenant's data key (``Encrypted*``
columns, ``docflow.storage.crypto``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import JSON, Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from docflow.storage.crypto import EncryptedBytes, EncryptedJSON, EncryptedText


def utcnow() -> datetime:
    return datetime.now(UTC)


def _created_at() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class Tenant(SQLModel, table=True):
    __tablename__ = "tenants"
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    slug: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=200)
    created_at: datetime = _created_at()


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    email: str = Field(unique=True, max_length=320)
    password_hash: str | None = None
    created_at: datetime = _created_at()


class Membership(SQLModel, table=True):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"),)
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    tenant_id: UUID = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    user_id: UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    role: str = Field(max_length=16)  # owner | editor | viewer
    created_at: datetime = _created_at()


class Project(SQLModel, table=True):
    __tablename__ = "projects"
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    tenant_id: UUID = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=200)
    slug: str = Field(max_length=80)
    idea: str = Field(sa_column=Column(EncryptedText, nullable=False))
    constraints: str = Field(default="", sa_column=Column(EncryptedText, nullable=False))
    created_by: str = Field(default="system", max_length=320)
    created_at: datetime = _created_at()


class Document(SQLModel, table=True):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("project_id", "path"),)
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    tenant_id: UUID = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    project_id: UUID = Field(foreign_key="projects.id", ondelete="CASCADE", index=True)
    step: str = Field(max_length=32)
    kind: str = Field(max_length=32)
    path: str = Field(max_length=300)
    title: str = Field(max_length=300)
    stale: bool = False
    created_at: datetime = _created_at()


class DocumentVersion(SQLModel, table=True):
    __tablename__ = "document_versions"
    __table_args__ = (
        UniqueConstraint("document_id", "version"),
        UniqueConstraint("idempotency_key"),
    )
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    tenant_id: UUID = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    project_id: UUID = Field(foreign_key="projects.id", ondelete="CASCADE", index=True)
    document_id: UUID = Field(foreign_key="documents.id", ondelete="CASCADE", index=True)
    version: int
    content_md: str = Field(sa_column=Column(EncryptedText, nullable=False))
    source: str = Field(max_length=16)  # agent | edit | merge (activities.edits)
    created_by: str = Field(max_length=320)
    writer: str = Field(max_length=200)  # the model, or "docflow-offline-writer/1 ..."
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    quality: dict[str, Any] | None = Field(default=None, sa_column=Column(EncryptedJSON))
    readability: float | None = None
    idempotency_key: str = Field(max_length=300)
    accepted: bool = False
    created_at: datetime = _created_at()


class AgentRun(SQLModel, table=True):
    __tablename__ = "agent_runs"
    __table_args__ = (UniqueConstraint("idempotency_key"),)
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    tenant_id: UUID = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    project_id: UUID = Field(foreign_key="projects.id", ondelete="CASCADE", index=True)
    step: str = Field(max_length=32)
    status: str = Field(max_length=16)  # succeeded | failed
    writer: str = Field(max_length=200)
    tokens_in: int = 0
    tokens_out: int = 0
    duration_ms: int = 0
    error: str | None = Field(default=None, sa_column=Column(EncryptedText))
    idempotency_key: str = Field(max_length=300)
    created_at: datetime = _created_at()


class SectionDraft(SQLModel, table=True):
    """One finished section of a step's write, kept so a retry resumes after it."""

    __tablename__ = "section_drafts"
    __table_args__ = (UniqueConstraint("tenant_id", "write_key", "section_key"),)
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    tenant_id: UUID = Field(foreign_key="tenants.id", ondelete="CASCADE")
    project_id: UUID = Field(foreign_key="projects.id", ondelete="CASCADE", index=True)
    write_key: str = Field(max_length=300)  # the write_step activity's idempotency key
    section_key: str = Field(max_length=100)  # "overview", "decision/2"
    content: dict[str, Any] = Field(sa_column=Column(EncryptedJSON, nullable=False))
    tokens_in: int = 0
    tokens_out: int = 0
    duration_ms: int = 0
    created_at: datetime = _created_at()


class Clarification(SQLModel, table=True):
    """One answer to one of the description's clarifying questions (``docflow.clarify``).
    A changed answer is the question's next version; an empty answer withdraws it."""

    __tablename__ = "clarifications"
    __table_args__ = (UniqueConstraint("tenant_id", "project_id", "question_id", "version"),)
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    tenant_id: UUID = Field(foreign_key="tenants.id", ondelete="CASCADE")
    project_id: UUID = Field(foreign_key="projects.id", ondelete="CASCADE", index=True)
    question_id: str = Field(max_length=16)
    version: int = Field(ge=1)
    question: str = Field(sa_column=Column(EncryptedText, nullable=False))
    answer: str = Field(sa_column=Column(EncryptedText, nullable=False))
    answered_by: str = Field(max_length=320)
    created_at: datetime = _created_at()


class Export(SQLModel, table=True):
    __tablename__ = "exports"
    __table_args__ = (UniqueConstraint("idempotency_key"),)
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    tenant_id: UUID = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    project_id: UUID = Field(foreign_key="projects.id", ondelete="CASCADE", index=True)
    manifest: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    sha256: str = Field(max_length=64)
    size: int
    content: bytes = Field(sa_column=Column(EncryptedBytes, nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    idempotency_key: str = Field(max_length=300)
    created_at: datetime = _created_at()


TENANT_TABLES: tuple[str, ...] = (
    "memberships",
    "projects",
    "documents",
    "document_versions",
    "agent_runs",
    "section_drafts",
    "clarifications",
    "exports",
)
