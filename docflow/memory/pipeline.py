"""Index one accepted document version: Markdown -> chunks -> dedupe -> embed what memory
does not hold yet (by content hash) -> upsert."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from docflow.contracts import TenantScope
from docflow.memory.chunking import Chunk, chunk_markdown, dedupe
from docflow.memory.embedding import Embedder
from docflow.memory.store import (
    EmbeddedChunk,
    MemoryDocument,
    MemoryStore,
    MemoryVersion,
    content_hash,
)

EMBED_BATCH = 32


@dataclass(frozen=True)
class IndexReport:
    chunks: int  # chunks cut from the Markdown
    duplicates: int  # of those, dropped as exact or near duplicates
    indexed: int  # points now in memory for this version
    embedded: int  # of those, chunks the embedder computed (the rest were already held)
    chars: int  # characters embedded (for embedding quotas)
    superseded: bool  # a newer version was already in memory: nothing was written
    chunk_ms: float
    embed_ms: float
    upsert_ms: float
    total_ms: float


def embed_chunks(
    embedder: Embedder,
    chunks: Sequence[Chunk],
    batch_size: int = EMBED_BATCH,
    known: Mapping[str, list[float]] | None = None,
) -> list[EmbeddedChunk]:
    """The chunks with their vectors: from ``known`` (by content hash) where it has them,
    else from the embedder, ``batch_size`` texts a call."""
    vectors = dict(known or {})
    missing = [text for text in dict.fromkeys(chunk.text for chunk in chunks)
               if content_hash(text) not in vectors]  # fmt: skip
    for start in range(0, len(missing), batch_size):
        batch = missing[start : start + batch_size]
        for text, vector in zip(batch, embedder.embed(batch), strict=True):
            vectors[content_hash(text)] = vector
    return [
        EmbeddedChunk(index=c.index, text=c.text, heading=c.heading,
                      vector=vectors[content_hash(c.text)])
        for c in chunks
    ]  # fmt: skip


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def index_version(
    store: MemoryStore,
    scope: TenantScope,
    document: MemoryDocument,
    version: MemoryVersion,
    markdown: str,
    *,
    batch_size: int = EMBED_BATCH,
    rollback: bool = False,
) -> IndexReport:
    """Make ``version`` of ``document`` the one project memory holds. Idempotent: the same
    call again writes the same points; a call for an older version than the one held does
    nothing (``superseded``), unless it is a ``rollback`` to that older version."""
    began = time.perf_counter()
    cut = chunk_markdown(markdown)
    kept = dedupe(cut)
    chunk_ms = _ms_since(began)
    if not rollback and store.is_superseded(scope, document, version):
        return IndexReport(
            chunks=len(cut),
            duplicates=len(cut) - len(kept),
            indexed=0,
            embedded=0,
            chars=0,
            superseded=True,
            chunk_ms=chunk_ms,
            embed_ms=0.0,
            upsert_ms=0.0,
            total_ms=_ms_since(began),
        )
    started = time.perf_counter()
    known = store.vectors_for(scope, {content_hash(chunk.text) for chunk in kept})
    fresh = [chunk for chunk in kept if content_hash(chunk.text) not in known]
    embedded = embed_chunks(store.embedder, kept, batch_size, known)
    embed_ms = _ms_since(started)
    started = time.perf_counter()
    result = store.replace_document(scope, document, version, embedded, rollback=rollback)
    upsert_ms = _ms_since(started)
    return IndexReport(
        chunks=len(cut),
        duplicates=len(cut) - len(kept),
        indexed=result.upserted,
        embedded=len({chunk.text for chunk in fresh}),
        chars=sum(len(text) for text in {chunk.text for chunk in fresh}),
        superseded=result.superseded,
        chunk_ms=chunk_ms,
        embed_ms=embed_ms,
        upsert_ms=upsert_ms,
        total_ms=_ms_since(began),
    )
