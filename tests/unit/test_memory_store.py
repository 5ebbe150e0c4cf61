"""The memory store's one tenant+project filter, its point ids, and that every Qdrant read
and delete carries that filter (in-memory Qdrant, a tiny deterministic embedder)."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID, uuid4

import pytest
from qdrant_client import QdrantClient
from qdrant_client import models as qm
from qdrant_client.common import client_warnings

from docflow.contracts import TenantScope, VersionRef
from docflow.memory.store import (
    EmbeddedChunk,
    MemoryConfigError,
    MemoryDocument,
    MemoryStore,
    MemoryVersion,
    content_hash,
    describe,
    point_id,
    point_payload,
    scope_filter,
)


class HashEmbedder:
    """Deterministic 8-dim vectors from a hash: no model needed for the store's logic."""

    dims = 8

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [[b + 1.0 for b in hashlib.sha256(t.encode()).digest()[:8]] for t in texts]


def scope() -> TenantScope:
    return TenantScope(tenant_id=uuid4(), project_id=uuid4())


def chunks(*texts: str) -> list[EmbeddedChunk]:
    vectors = HashEmbedder().embed(texts)
    return [
        EmbeddedChunk(i, t, "H", v) for i, (t, v) in enumerate(zip(texts, vectors, strict=True))
    ]


@pytest.fixture
def store() -> Iterator[MemoryStore]:
    client = QdrantClient(":memory:")
    yield MemoryStore(client, HashEmbedder())
    client.close()


def test_scope_filter_pins_tenant_and_project_first() -> None:
    s = scope()
    extra = qm.FieldCondition(key="kind", match=qm.MatchValue(value="adr"))
    built = scope_filter(s, must=[extra])
    assert isinstance(built.must, list)
    assert built.must[:2] == [
        qm.FieldCondition(key="tenant_id", match=qm.MatchValue(value=str(s.tenant_id))),
        qm.FieldCondition(key="project_id", match=qm.MatchValue(value=str(s.project_id))),
    ]
    assert _pinned(built) == [("tenant_id", str(s.tenant_id)), ("project_id", str(s.project_id))]
    assert built.must[2] is extra
    assert built.must_not is None


def _pinned(flt: qm.Filter) -> list[tuple[str, object]]:
    must = flt.must if isinstance(flt.must, list) else []
    return [
        (c.key, c.match.value)
        for c in must[:2]
        if isinstance(c, qm.FieldCondition) and isinstance(c.match, qm.MatchValue)
    ]


def test_point_ids_are_deterministic_and_distinct() -> None:
    s, doc = scope(), uuid4()
    assert point_id(s, doc, 1, 0) == point_id(s, doc, 1, 0)
    assert str(UUID(point_id(s, doc, 1, 0))) == point_id(s, doc, 1, 0)
    ids = {point_id(s, doc, v, i) for v in (1, 2) for i in range(3)}
    ids.add(point_id(scope(), doc, 1, 0))
    assert len(ids) == 7


def test_describe_splits_a_version_ref() -> None:
    ref = VersionRef(
        document_id=uuid4(), version_id=uuid4(), path="docs/about.md", kind="about", version=3
    )
    document, version = describe(ref)
    assert document == MemoryDocument(ref.document_id, "about", "docs/about.md")
    assert version == MemoryVersion(ref.version_id, 3)


def _assert_scoped(flt: Any, s: TenantScope) -> None:
    assert isinstance(flt, qm.Filter) and isinstance(flt.must, list)
    pinned = {
        (c.key, c.match.value)
        for c in flt.must
        if isinstance(c, qm.FieldCondition) and isinstance(c.match, qm.MatchValue)
    }
    assert ("tenant_id", str(s.tenant_id)) in pinned
    assert ("project_id", str(s.project_id)) in pinned


def test_every_read_and_delete_carries_the_scope(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scope()
    seen: list[str] = []
    client = store.client
    for name, key in (
        ("query_points", "query_filter"),
        ("count", "count_filter"),
        ("scroll", "scroll_filter"),
    ):
        original = getattr(client, name)

        def spy(
            *args: Any, _original: Any = original, _key: str = key, _name: str = name, **kw: Any
        ) -> Any:
            _assert_scoped(kw[_key], s)
            seen.append(_name)
            return _original(*args, **kw)

        monkeypatch.setattr(client, name, spy)
    original_delete = client.delete

    def spy_delete(*args: Any, **kw: Any) -> Any:
        _assert_scoped(kw["points_selector"].filter, s)
        seen.append("delete")
        return original_delete(*args, **kw)

    monkeypatch.setattr(client, "delete", spy_delete)
    doc = MemoryDocument(uuid4(), "about", "docs/about.md")
    store.replace_document(s, doc, MemoryVersion(uuid4(), 1), chunks("a", "b"))
    store.search(s, "a", 3)
    assert set(store.vectors_for(s, {content_hash("a")})) == {content_hash("a")}
    store.purge_project(s)
    assert set(seen) == {"query_points", "count", "scroll", "delete"}


def test_the_collection_has_cosine_vectors_and_no_index_warning_escapes(store: MemoryStore) -> None:
    client_warnings.SEEN_MESSAGES.discard("create-local-payload-indexes")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        name = store.ensure_collection(scope())
    assert not [w for w in caught if "Payload indexes" in str(w.message)]
    params = store.client.get_collection(name).config.params.vectors
    assert isinstance(params, qm.VectorParams)
    assert (params.size, params.distance) == (8, qm.Distance.COSINE)


def test_a_collection_of_another_size_is_refused(store: MemoryStore) -> None:
    s = scope()
    store.ensure_collection(s)

    class Wider(HashEmbedder):
        dims = 16

    with pytest.raises(MemoryConfigError, match="size 8"):
        MemoryStore(store.client, Wider()).ensure_collection(s)


def test_search_limits_and_blank_queries(store: MemoryStore) -> None:
    s = scope()
    assert store.search(s, "   ") == []
    with pytest.raises(ValueError, match="limit"):
        store.search(s, "q", 0)
    with pytest.raises(ValueError, match="limit"):
        store.search(s, "q", 101)


def test_a_shorter_retry_of_the_same_version_leaves_no_extra_chunks(store: MemoryStore) -> None:
    s, doc, v1 = (
        scope(),
        MemoryDocument(uuid4(), "epic", "docs/plans/01-x.md"),
        MemoryVersion(uuid4(), 1),
    )
    store.replace_document(s, doc, v1, chunks("a", "b", "c"))
    store.replace_document(s, doc, v1, chunks("a", "b"))
    assert store.count(s) == 2


def test_an_empty_version_removes_the_document(store: MemoryStore) -> None:
    s, doc = scope(), MemoryDocument(uuid4(), "specs", "docs/specs.md")
    store.replace_document(s, doc, MemoryVersion(uuid4(), 1), chunks("a", "b"))
    store.replace_document(s, doc, MemoryVersion(uuid4(), 2), [])
    assert store.count(s) == 0


def test_local_mode_gives_each_project_a_collection_of_its_own(store: MemoryStore) -> None:
    a, b = scope(), scope()
    doc = MemoryDocument(uuid4(), "about", "docs/about.md")
    store.replace_document(a, doc, MemoryVersion(uuid4(), 1), chunks("alpha", "beta"))
    store.replace_document(b, doc, MemoryVersion(uuid4(), 1), chunks("gamma"))
    names = {c.name for c in store.client.get_collections().collections}
    assert names == {store.collection_of(a), store.collection_of(b)}
    assert (store.client.count(store.collection_of(a)).count, store.count(b)) == (2, 1)
    assert store.purge_project(a) == 2
    assert not store.client.collection_exists(store.collection_of(a))
    assert (store.count(a), store.search(a, "alpha"), store.count(b)) == (0, [], 1)


def test_a_read_never_creates_a_collection(store: MemoryStore) -> None:
    s = scope()
    assert (store.count(s), store.search(s, "q"), store.vectors_for(s, {"h"})) == (0, [], {})
    doc = MemoryDocument(uuid4(), "about", "docs/about.md")
    assert not store.is_superseded(s, doc, MemoryVersion(uuid4(), 1))
    assert store.client.get_collections().collections == []


def test_a_server_keeps_one_shared_collection() -> None:
    client = QdrantClient(url="http://127.0.0.1:9", check_compatibility=False)  # not called
    server = MemoryStore(client, HashEmbedder())
    assert server.collection_of(scope()) == server.collection_of(scope()) == "docflow_memory"
    client.close()


def test_points_of_the_shared_local_collection_move_to_their_projects(
    store: MemoryStore,
) -> None:
    """Local folders written before per-project collections keep their memory."""
    a, b = scope(), scope()
    store.client.create_collection(
        "docflow_memory", vectors_config=qm.VectorParams(size=8, distance=qm.Distance.COSINE)
    )
    doc, version = MemoryDocument(uuid4(), "about", "docs/about.md"), MemoryVersion(uuid4(), 1)
    for s, texts in ((a, ("alpha", "beta")), (b, ("gamma",))):
        store.client.upsert(
            "docflow_memory",
            points=[
                qm.PointStruct(
                    id=point_id(s, doc.document_id, 1, c.index),
                    vector=c.vector,
                    payload=point_payload(s, doc, version, c),
                )
                for c in chunks(*texts)
            ],
        )
    fresh = MemoryStore(store.client, HashEmbedder())
    assert [hit.text for hit in fresh.search(a, "alpha", 5)] == ["alpha", "beta"]
    assert fresh.count(b) == 1
    assert not store.client.collection_exists("docflow_memory")


def test_vectors_are_found_by_content_hash_within_the_scope_only(store: MemoryStore) -> None:
    a, b = scope(), scope()
    doc = MemoryDocument(uuid4(), "about", "docs/about.md")
    store.replace_document(a, doc, MemoryVersion(uuid4(), 1), chunks("shared", "mine"))
    store.replace_document(b, doc, MemoryVersion(uuid4(), 1), chunks("shared"))
    wanted = {content_hash("shared"), content_hash("mine"), content_hash("absent")}
    found = store.vectors_for(a, wanted)
    assert set(found) == {content_hash("shared"), content_hash("mine")}
    raw = chunks("mine")[0].vector  # a cosine collection keeps the unit vector
    norm = sum(x * x for x in raw) ** 0.5
    assert found[content_hash("mine")] == pytest.approx([x / norm for x in raw], rel=1e-5)
    assert set(store.vectors_for(b, wanted)) == {content_hash("shared")}
