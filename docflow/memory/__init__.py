"""Project memory: the accepted documents of a project, chunked, embedded and searchable,
in Qdrant, always filtered by tenant and project.

Import-light for the API process: no CrewAI; onnxruntime loads only when the local
embedder first runs.
"""

from docflow.memory.chunking import Chunk, chunk_markdown, dedupe, normalise_markdown
from docflow.memory.embedding import (
    Embedder,
    EmbeddingError,
    OnnxMiniLM,
    OpenAIEmbeddings,
    make_embedder,
    shared_local_embedder,
)
from docflow.memory.pipeline import IndexReport, embed_chunks, index_version
from docflow.memory.runtime import close_clients, open_store, qdrant_client
from docflow.memory.store import (
    COLLECTION,
    EmbeddedChunk,
    Hit,
    MemoryConfigError,
    MemoryDocument,
    MemoryStore,
    MemoryVersion,
    ReplaceResult,
    describe,
    scope_filter,
)

__all__ = [
    "COLLECTION",
    "Chunk",
    "EmbeddedChunk",
    "Embedder",
    "EmbeddingError",
    "Hit",
    "IndexReport",
    "MemoryConfigError",
    "MemoryDocument",
    "MemoryStore",
    "MemoryVersion",
    "OnnxMiniLM",
    "OpenAIEmbeddings",
    "ReplaceResult",
    "chunk_markdown",
    "close_clients",
    "dedupe",
    "describe",
    "embed_chunks",
    "index_version",
    "make_embedder",
    "normalise_markdown",
    "open_store",
    "qdrant_client",
    "scope_filter",
    "shared_local_embedder",
]
