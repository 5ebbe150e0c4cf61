"""Project memory in Qdrant, every point tagged with its tenant and project.

Every read and every delete is filtered by ``scope_filter`` (the one place that builds the
tenant+project filter), and goes to ``collection_of`` the scope: on a Qdrant server one
collection for all (HNSW, ``tenant_id`` an ``is_tenant`` payload index); in local mode, a
brute-force scan in Python, one collection per project, so a query or an index step reads
the project's own points only (ADR-014). Only accepted versions live here:
``replace_document`` puts a version's chunks in and takes the document's other versions out.
Each point carries its chunk's ``content_hash``: a chunk already in the project's memory is
never embedded again (``vectors_for``).
"""

from __future__ import annotations

import hashlib
import threading
import uuid
import weakref
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from qdrant_client import QdrantClient
from qdrant_client import models as qm
from qdrant_client.conversions.common_types import PointId

from docflow.contracts import TenantScope, VersionRef
from docflow.memory.embedding import Embedder

COLLECTION = "docflow_memory"
UPSERT_BATCH = 256
MAX_LIMIT = 100
# Namespace of the deterministic point ids (uuid5): a retried upsert overwrites itself.
POINT_NAMESPACE = UUID("5f0c7a7e-4d7b-5b8e-9a51-6d6f63666c6f")


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


def content_hash(text: str) -> str:
    """The key of a chunk's vector: the same text always embeds to the same vector."""
    return hashlib.sha256(text.encode()).hexdigest()


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
        "content_hash": content_hash(chunk.text),
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


_LOCAL_LOCKS: weakref.WeakKeyDictionary[QdrantClient, threading.RLock] = weakref.WeakKeyDictionary()
_LOCAL_LOCKS_GUARD = threading.Lock()


def local_lock(client: QdrantClient) -> threading.RLock:
    """The one lock of a local-mode client, shared by every store on it."""
    with _LOCAL_LOCKS_GUARD:
        return _LOCAL_LOCKS.setdefault(client, threading.RLock())


def is_local(client: QdrantClient) -> bool:
    """Local mode (``path=`` or ``":memory:"``), as opposed to a Qdrant server."""
    options = client.init_options
    return options.get("path") is not None or options.get("location") == ":memory:"


class MemoryStore:
    """Project memory on Qdrant, with the embedder that writes and queries it.

    In local mode every call is serialised (the local engine is plain Python, not
    thread-safe) and each project has a collection of its own; a server takes concurrent
    calls on one shared collection.
    """

    def __init__(
        self, client: QdrantClient, embedder: Embedder, collection: str = COLLECTION
    ) -> None:
        self.client = client
        self.embedder = embedder
        self.collection = collection
        self._ready: set[str] = set()  # collections created or checked by this store
        self._ready_lock = threading.Lock()
        self._local_lock = local_lock(client) if is_local(client) else None

    def _serialised(self) -> AbstractContextManager[object]:
        return self._local_lock if self._local_lock is not None else nullcontext()

    # --- collections --------------------------------------------------------------------

    def collection_of(self, scope: TenantScope) -> str:
        """The collection holding ``scope``'s points: the shared one on a server, the
        project's own in local mode."""
        if self._local_lock is None:
            return self.collection
        return f"{self.collection}-{scope.tenant_id.hex}-{scope.project_id.hex}"

    def ensure_collection(self, scope: TenantScope) -> str:
        """Create ``scope``'s collection (cosine, embedder dims; on a server with its
        tenant/project payload indexes) if missing; refuse one whose vector size differs
        from the embedder's. Returns its name."""
        name = self.collection_of(scope)
        if self._local_lock is None:
            if name not in self._ready:
                with self._ready_lock:
                    if name not in self._ready:
                        self._create_or_check(name)
                        self._ready.add(name)
            return name
        with self._local_lock:  # another store on this client may have dropped it
            self._move_shared_points()
            if name not in self._ready or not self.client.collection_exists(name):
                self._create_or_check(name)
                self._ready.add(name)
        return name

    def _readable(self, scope: TenantScope) -> str | None:
        """``scope``'s collection for a read, or None when local mode has none (a read
        never creates one). The caller holds ``_serialised()`` around this and the read."""
        if self._local_lock is None:
            return self.ensure_collection(scope)
        self._move_shared_points()
        name = self.collection_of(scope)
        return name if self.client.collection_exists(name) else None

    def _create_or_check(self, name: str) -> None:
        dims = self.embedder.dims
        if self.client.collection_exists(name):
            self._check_size(name, dims)
            return
        self.client.create_collection(
            name, vectors_config=qm.VectorParams(size=dims, distance=qm.Distance.COSINE)
        )
        if self._local_lock is None:  # local mode ignores payload indexes
            self._create_payload_indexes(name)

    def _check_size(self, name: str, dims: int) -> None:
        vectors = self.client.get_collection(name).config.params.vectors
        size = vectors.size if isinstance(vectors, qm.VectorParams) else None
        if size != dims:
            raise MemoryConfigError(
                f"collection '{name}' holds vectors of size {size}, the embedder "
                f"makes {dims}: re-index into a new collection after changing the model"
            )

    def _create_payload_indexes(self, name: str) -> None:
        self.client.create_payload_index(
            name,
            "tenant_id",
            field_schema=qm.KeywordIndexParams(type=qm.KeywordIndexType.KEYWORD, is_tenant=True),
        )
        for field in ("project_id", "document_id", "content_hash"):
            self.client.create_payload_index(name, field, field_schema=qm.PayloadSchemaType.KEYWORD)

    def _move_shared_points(self) -> None:
        """Local mode, once: points of the single shared collection that earlier releases
        kept move to their projects' collections (vectors and payloads as they are), then
        the shared collection is dropped."""
        if self._local_lock is None or "" in self._ready:
            return  # a server, or moved already (by this store; else found missing)
        if self.client.collection_exists(self.collection):
            dims = self.embedder.dims
            self._check_size(self.collection, dims)
            offset: PointId | None = None
            while True:
                points, offset = self.client.scroll(
                    self.collection, limit=UPSERT_BATCH, offset=offset,
                    with_payload=True, with_vectors=True,
                )  # fmt: skip
                self._copy_to_projects(points, dims)
                if offset is None:
                    break
            self.client.delete_collection(self.collection)
        self._ready.add("")

    def _copy_to_projects(self, points: Sequence[qm.Record], dims: int) -> None:
        by_project: dict[str, list[qm.PointStruct]] = {}
        for point in points:
            payload = point.payload or {}
            scope = TenantScope(
                tenant_id=UUID(str(payload["tenant_id"])),
                project_id=UUID(str(payload["project_id"])),
            )
            vector = point.vector if isinstance(point.vector, list) else []
            by_project.setdefault(self.collection_of(scope), []).append(
                qm.PointStruct(id=point.id, vector=vector, payload=payload)
            )
        for name, moved in by_project.items():
            if not self.client.collection_exists(name):
                self.client.create_collection(
                    name, vectors_config=qm.VectorParams(size=dims, distance=qm.Distance.COSINE)
                )
            self.client.upsert(name, points=moved, wait=True)

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
        with self._serialised():
            name = self._readable(scope)
            return name is not None and (
                self.client.count(name, count_filter=newer, exact=True).count > 0
            )

    def vectors_for(self, scope: TenantScope, hashes: Collection[str]) -> dict[str, list[float]]:
        """The vectors the project's memory already holds for chunks of these
        ``content_hash`` values (those it has; a missing hash is simply absent)."""
        if not hashes:
            return {}
        wanted = scope_filter(
            scope,
            must=[qm.FieldCondition(key="content_hash", match=qm.MatchAny(any=sorted(hashes)))],
        )
        found: dict[str, list[float]] = {}
        offset: PointId | None = None
        with self._serialised():
            name = self._readable(scope)
            while name is not None:
                points, offset = self.client.scroll(
                    name, scroll_filter=wanted, limit=UPSERT_BATCH, offset=offset,
                    with_payload=["content_hash"], with_vectors=True,
                )  # fmt: skip
                for point in points:
                    if isinstance(point.vector, list) and point.payload:
                        found.setdefault(str(point.payload["content_hash"]), point.vector)  # type: ignore[arg-type]
                if offset is None:
                    break
        return found

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
        points = [
            qm.PointStruct(
                id=point_id(scope, document.document_id, version.version, chunk.index),
                vector=chunk.vector,
                payload=point_payload(scope, document, version, chunk),
            )
            for chunk in chunks
        ]
        with self._serialised():  # in local mode, the check and the writes as one
            if not rollback and self.is_superseded(scope, document, version):
                return ReplaceResult(upserted=0, superseded=True)
            name = self.ensure_collection(scope)
            for batch in _batches(points, UPSERT_BATCH):
                self.client.upsert(name, points=list(batch), wait=True)
            self._delete(name, self._others_of(scope, document, version, len(points)))
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
        with self._serialised():
            removed = self.count(scope)
            name = self._readable(scope)
            if name is None:
                return removed
            self._delete(name, scope_filter(scope))
            if self._local_lock is not None:  # the project's own collection goes too
                self.client.delete_collection(name)
                self._ready.discard(name)
        return removed

    def _delete(self, name: str, selector: qm.Filter) -> None:
        self.client.delete(name, points_selector=qm.FilterSelector(filter=selector), wait=True)

    # --- reads --------------------------------------------------------------------------

    def count(self, scope: TenantScope) -> int:
        with self._serialised():
            name = self._readable(scope)
            if name is None:
                return 0
            return self.client.count(name, count_filter=scope_filter(scope), exact=True).count

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
        with self._serialised():
            name = self._readable(scope)
            if name is None:
                return []
            response = self.client.query_points(
                name,
                query=list(vector),
                query_filter=scope_filter(scope),
                limit=limit,
                with_payload=True,
                with_vectors=False,
            )
        return [_hit(point) for point in response.points]
