"""Project memory in Qdrant: one collection, every point tagged with its tenant and project.

Every read and every delete is filtered by ``scope_filter`` (the one place that builds the
tenant+project filter). Only accepted versions live here: ``replace_document`` puts a
version's chunks in and takes the document's other versions out.
"""

from __future__ import annotations

import threading
import uuid
import warnings
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from qdrant_client import QdrantClient
from qdrant_client import models as qm

from docflow.contracts import TenantScope, VersionRef
from docflow.memory.embedding import Embedder

COLLECTION = "docflow_memory"
UPSERT_BATCH = 256
MAX_LIMIT = 100
# Namespace of the deterministic point ids (uuid5): a retried upsert overwrites itself.
POINT_NAMESPACE = UUID("5f0c7a7e-4d7b-5b8e-9a51-6d6f63666c6f")
_LOCAL_INDEX_WARNING = "Payload indexes have no effect in the local Qdrant"


@dataclass(frozen=True)
class MemoryDocument:
    document_id: UUID
    kind: str
    path: str


@dataclass(frozen=True)
class MemoryVersion:
    version_id: UUID
    version: int


@dataclass(frozen=True)
class EmbeddedChunk:
    index: int
    text: str
    heading: str
    vector: list[float]


@dataclass(frozen=True)
class Hit:
    score: float
    text: str
    path: str
    kind: str
    version: int
    document_id: UUID
    version_id: UUID
    heading: str
    chunk_index: int


@dataclass(frozen=True)
class ReplaceResult:
    upserted: int
    superseded: bool  # a newer version of the document is already in memory: nothing done


class MemoryConfigError(RuntimeError):
    """The collection exists with a vector size other than the embedder's."""


def describe(ref: VersionRef) -> tuple[MemoryDocument, MemoryVersion]:
    return (
        MemoryDocument(document_id=ref.document_id, kind=ref.kind, path=ref.path),
        MemoryVersion(version_id=ref.version_id, version=ref.version),
    )


def scope_filter(
    scope: TenantScope,
    must: Sequence[qm.Condition] = (),
    must_not: Sequence[qm.Condition] = (),
) -> qm.Filter:
    """THE tenant+project filter: every query, count and delete of project memory is built
    here, so no read can leave its tenant and project."""
    return qm.Filter(
        must=[
            qm.FieldCondition(key="tenant_id", match=qm.MatchValue(value=str(scope.tenant_id))),
            qm.FieldCondition(key="project_id", match=qm.MatchValue(value=str(scope.project_id))),
            *must,
        ],
        must_not=list(must_not) or None,
    )


def point_id(scope: TenantScope, document_id: UUID, version: int, chunk_index: int) -> str:
    name = f"{scope.tenant_id}/{scope.project_id}/{document_id}/{version}/{chunk_index}"
    return str(uuid.uuid5(POINT_NAMESPACE, name))


def _match(key: str, value: str | int) -> qm.FieldCondition:
    return qm.FieldCondition(key=key, match=qm.MatchValue(value=value))


def point_payload(
    scope: TenantScope, document: MemoryDocument, version: MemoryVersion, chunk: EmbeddedChunk
) -> dict[str, Any]:
    return {
        "tenant_id": str(scope.tenant_id),
        "project_id": str(scope.project_id),
        "document_id": str(document.document_id),
        "kind": document.kind,
        "path": document.path,
        "version_id": str(version.version_id),
        "version": version.version,
        "chunk_index": chunk.index,
        "heading": chunk.heading,
        "text": chunk.text,
    }


def _hit(point: qm.ScoredPoint) -> Hit:
    payload = point.payload or {}
    return Hit(
        score=float(point.score),
        text=str(payload["text"]),
        path=str(payload["path"]),
        kind=str(payload["kind"]),
        version=int(payload["version"]),
        document_id=UUID(str(payload["document_id"])),
        version_id=UUID(str(payload["version_id"])),
        heading=str(payload.get("heading", "")),
        chunk_index=int(payload["chunk_index"]),
    )


def _batches(points: Sequence[qm.PointStruct], size: int) -> Iterator[Sequence[qm.PointStruct]]:
    for start in range(0, len(points), size):
        yield points[start : start + size]


def is_local(client: QdrantClient) -> bool:
    """Local mode (``path=`` or ``":memory:"``), as opposed to a Qdrant server."""
    options = client.init_options
    return options.get("path") is not None or options.get("location") == ":memory:"


class MemoryStore:
    """Project memory on one Qdrant collection, with the embedder that writes and queries it.

    In local mode every call is serialised (the local engine is plain Python, not
    thread-safe); a server takes concurrent calls.
    """

    def __init__(
        self, client: QdrantClient, embedder: Embedder, collection: str = COLLECTION
    ) -> None:
        self.client = client
        self.embedder = embedder
        self.collection = collection
        self._ready = False
        self._ready_lock = threading.Lock()
        self._local_lock = threading.RLock() if is_local(client) else None

    def _serialised(self) -> AbstractContextManager[object]:
        return self._local_lock if self._local_lock is not None else nullcontext()

    # --- collection ---------------------------------------------------------------------

    def ensure_collection(self) -> None:
        """Create the collection (cosine, embedder dims) and its tenant/project payload
        indexes if missing; refuse one whose vector size differs from the embedder's."""
        if self._ready:
            return
        with self._ready_lock, self._serialised():
            if not self._ready:
                self._create_or_check()
                self._ready = True

    def _create_or_check(self) -> None:
        dims = self.embedder.dims
        if self.client.collection_exists(self.collection):
            self._check_size(dims)
            return
        self.client.create_collection(
            self.collection,
            vectors_config=qm.VectorParams(size=dims, distance=qm.Distance.COSINE),
        )
        self._create_payload_indexes()

    def _check_size(self, dims: int) -> None:
        vectors = self.client.get_collection(self.collection).config.params.vectors
        size = vectors.size if isinstance(vectors, qm.VectorParams) else None
        if size != dims:
            raise MemoryConfigError(
                f"collection '{self.collection}' holds vectors of size {size}, the embedder "
                f"makes {dims}: re-index into a new collection after changing the model"
            )

    def _create_payload_indexes(self) -> None:
        # Local mode ignores payload indexes and says so once per process; a server honours
        # them. Silence exactly that warning, here only (collection creation, under lock).
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_LOCAL_INDEX_WARNING, category=UserWarning)
            self.client.create_payload_index(
                self.collection,
                "tenant_id",
                field_schema=qm.KeywordIndexParams(
                    type=qm.KeywordIndexType.KEYWORD, is_tenant=True
                ),
            )
            for field in ("project_id", "document_id"):
                self.client.create_payload_index(
                    self.collection, field, field_schema=qm.PayloadSchemaType.KEYWORD
                )

    # --- writes -------------------------------------------------------------------------

    def is_superseded(
        self, scope: TenantScope, document: MemoryDocument, version: MemoryVersion
    ) -> bool:
        """A newer version of ``document`` is already in memory."""
        newer = scope_filter(
            scope,
            must=[
                _match("document_id", str(document.document_id)),
                qm.FieldCondition(key="version", range=qm.Range(gt=version.version)),
            ],
        )
        self.ensure_collection()
        with self._serialised():
            return self.client.count(self.collection, count_filter=newer, exact=True).count > 0

    def replace_document(
        self,
        scope: TenantScope,
        document: MemoryDocument,
        version: MemoryVersion,
        chunks: Sequence[EmbeddedChunk],
        *,
        rollback: bool = False,
    ) -> ReplaceResult:
        """Make ``version``'s chunks the document's only points in memory.

        Upserts first (deterministic ids: a retry overwrites), then deletes the document's
        other points, so search never sees the document missing. A call for a version older
        than the one in memory (a late retry) changes nothing, unless it is a ``rollback``
        (a person made that older version the accepted one again).
        """
        if not rollback and self.is_superseded(scope, document, version):
            return ReplaceResult(upserted=0, superseded=True)
        points = [
            qm.PointStruct(
                id=point_id(scope, document.document_id, version.version, chunk.index),
                vector=chunk.vector,
                payload=point_payload(scope, document, version, chunk),
            )
            for chunk in chunks
        ]
        with self._serialised():
            for batch in _batches(points, UPSERT_BATCH):
                self.client.upsert(self.collection, points=list(batch), wait=True)
            self._delete(self._others_of(scope, document, version, len(points)))
        return ReplaceResult(upserted=len(points), superseded=False)

    @staticmethod
    def _others_of(
        scope: TenantScope, document: MemoryDocument, version: MemoryVersion, count: int
    ) -> qm.Filter:
        current = qm.Filter(
            must=[
                _match("version_id", str(version.version_id)),
                qm.FieldCondition(key="chunk_index", range=qm.Range(lt=count)),
            ]
        )
        return scope_filter(
            scope, must=[_match("document_id", str(document.document_id))], must_not=[current]
        )

    def purge_project(self, scope: TenantScope) -> int:
        """Remove every point of the project; returns how many there were."""
        removed = self.count(scope)
        with self._serialised():
            self._delete(scope_filter(scope))
        return removed

    def _delete(self, selector: qm.Filter) -> None:
        self.client.delete(
            self.collection, points_selector=qm.FilterSelector(filter=selector), wait=True
        )

    # --- reads --------------------------------------------------------------------------

    def count(self, scope: TenantScope) -> int:
        self.ensure_collection()
        with self._serialised():
            return self.client.count(
                self.collection, count_filter=scope_filter(scope), exact=True
            ).count

    def search(self, scope: TenantScope, query: str, limit: int = 5) -> list[Hit]:
        """The ``limit`` chunks of the project's accepted documents closest to ``query``."""
        if not query.strip():
            return []
        return self.search_vector(scope, self.embedder.embed([query])[0], limit)

    def search_vector(
        self, scope: TenantScope, vector: Sequence[float], limit: int = 5
    ) -> list[Hit]:
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
        self.ensure_collection()
        with self._serialised():
            response = self.client.query_points(
                self.collection,
                query=list(vector),
                query_filter=scope_filter(scope),
                limit=limit,
                with_payload=True,
                with_vectors=False,
            )
        return [_hit(point) for point in response.points]
