"""Inputs and outputs of the memory activities (they cross Temporal; no Qdrant imports)."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field

from docflow.contracts import MemoryChunk, TenantScope


class IndexInput(BaseModel):
    scope: TenantScope
    version_ids: list[UUID]  # the versions just accepted: they replace their documents' points
    rollback: bool = False  # an older version made accepted again replaces a newer one


class IndexOutput(BaseModel):
    documents: int
    chunks: int  # points now in memory for these versions
    superseded: int
    embedded: int = 0  # of the chunks, those the embedder computed (the rest were held)


class SearchInput(BaseModel):
    scope: TenantScope
    query: str = Field(min_length=1, max_length=2_000)
    limit: int = Field(default=5, ge=1, le=50)


class SearchOutput(BaseModel):
    hits: list[MemoryChunk]
