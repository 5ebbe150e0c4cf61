"""Project memory end to end: the packaged MiniLM, Qdrant local mode on a folder, and the
index pipeline. Tenancy, superseded versions, purge, idempotent re-index, restart."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from uuid import uuid4

import pytest
from qdrant_client import QdrantClient

from docflow.contracts import TenantScope
from docflow.memory.embedding import shared_local_embedder
from docflow.memory.pipeline import index_version
from docflow.memory.runtime import close_client, open_store, qdrant_client
from docflow.memory.store import MemoryDocument, MemoryStore, MemoryVersion
from docflow.settings import Settings

ABOUT_V1 = """# GardenShare

## Problem

Community gardens lose track of who borrowed the shared tools and which raised beds are free.

## Users

Garden members book raised-bed plots, lend wheelbarrows and spades, and split the water bill.
"""

ABOUT_V2 = """# GardenShare

## Problem

Allotment volunteers cannot see the irrigation schedule, so seedlings dry out in July.

## Users

Volunteers sign up for watering shifts and get a reminder the evening before.
"""

ARCHITECTURE = """# Architecture

## Containers

The API is FastAPI behind nginx. PostgreSQL stores bookings. Redis holds rate limits.

## Deployment

Everything runs on one virtual machine with Docker Compose and nightly backups to S3.
"""


def new_scope() -> TenantScope:
    return TenantScope(tenant_id=uuid4(), project_id=uuid4())


def about_doc() -> MemoryDocument:
    return MemoryDocument(document_id=uuid4(), kind="about", path="docs/about.md")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MemoryStore]:
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    yield MemoryStore(client, shared_local_embedder())
    client.close()


def test_index_then_search_finds_the_relevant_chunk(store: MemoryStore) -> None:
    scope, doc = new_scope(), about_doc()
    version = MemoryVersion(uuid4(), 1)
    report = index_version(store, scope, doc, version, ABOUT_V1 + "\n" + ARCHITECTURE)
    assert report.indexed == report.chunks - report.duplicates > 0
    assert report.chars > 0 and not report.superseded
    assert report.embed_ms > 0 and report.total_ms >= report.embed_ms
    hits = store.search(scope, "who pays for the water?", limit=3)
    assert "water bill" in hits[0].text
    assert hits[0].document_id == doc.document_id
    assert (hits[0].version, hits[0].version_id, hits[0].path) == (1, version.version_id, doc.path)
    assert hits[0].score > hits[-1].score


def test_tenant_b_never_sees_tenant_a_even_with_the_same_text(store: MemoryStore) -> None:
    tenant_a, tenant_b = new_scope(), new_scope()
    doc_a, doc_b = about_doc(), about_doc()
    index_version(store, tenant_a, doc_a, MemoryVersion(uuid4(), 1), ABOUT_V1)
    index_version(store, tenant_b, doc_b, MemoryVersion(uuid4(), 1), ABOUT_V1)
    for query in ("shared tools and raised beds", "water bill", "GardenShare"):
        hits_b = store.search(tenant_b, query, limit=100)
        assert hits_b and {hit.document_id for hit in hits_b} == {doc_b.document_id}
    other_project = TenantScope(tenant_id=tenant_a.tenant_id, project_id=uuid4())
    assert store.search(other_project, "shared tools", limit=10) == []
    assert store.search(new_scope(), "shared tools", limit=10) == []


def test_a_superseded_version_vanishes_from_search(store: MemoryStore) -> None:
    scope, doc = new_scope(), about_doc()
    v1, v2 = MemoryVersion(uuid4(), 1), MemoryVersion(uuid4(), 2)
    index_version(store, scope, doc, v1, ABOUT_V1)
    index_version(store, scope, doc, v2, ABOUT_V2)
    hits = store.search(scope, "shared tools raised beds water bill", limit=100)
    assert hits and {hit.version_id for hit in hits} == {v2.version_id}
    assert all("wheelbarrows" not in hit.text for hit in hits)
    late_retry = index_version(store, scope, doc, v1, ABOUT_V1)
    assert late_retry.superseded and late_retry.indexed == 0
    assert {hit.version for hit in store.search(scope, "tools", limit=100)} == {2}


def test_other_documents_stay_when_one_is_replaced(store: MemoryStore) -> None:
    scope, about = new_scope(), about_doc()
    architecture = MemoryDocument(uuid4(), "architecture", "docs/architecture.md")
    index_version(store, scope, about, MemoryVersion(uuid4(), 1), ABOUT_V1)
    index_version(store, scope, architecture, MemoryVersion(uuid4(), 1), ARCHITECTURE)
    index_version(store, scope, about, MemoryVersion(uuid4(), 2), ABOUT_V2)
    paths = {hit.path for hit in store.search(scope, "PostgreSQL Docker Compose", limit=100)}
    assert paths == {"docs/about.md", "docs/architecture.md"}


def test_purge_removes_only_that_project(store: MemoryStore) -> None:
    doomed, kept = new_scope(), new_scope()
    index_version(store, doomed, about_doc(), MemoryVersion(uuid4(), 1), ABOUT_V1)
    index_version(store, kept, about_doc(), MemoryVersion(uuid4(), 1), ABOUT_V1)
    before = store.count(kept)
    assert store.purge_project(doomed) > 0
    assert store.count(doomed) == 0
    assert store.search(doomed, "shared tools", limit=10) == []
    assert store.count(kept) == before > 0
    assert store.purge_project(doomed) == 0


def test_reindexing_the_same_version_is_idempotent(store: MemoryStore) -> None:
    scope, doc, version = new_scope(), about_doc(), MemoryVersion(uuid4(), 1)
    first = index_version(store, scope, doc, version, ABOUT_V1)
    hits_before = store.search(scope, "shared tools", limit=100)
    second = index_version(store, scope, doc, version, ABOUT_V1)
    assert second.indexed == first.indexed == store.count(scope)
    assert store.search(scope, "shared tools", limit=100) == hits_before


def test_duplicate_sections_are_stored_once(store: MemoryStore) -> None:
    scope = new_scope()
    policy = (
        "Members may borrow a tool for three days. A tool returned late blocks new bookings "
        "until it is back in the shed, and the coordinator gets a reminder. Broken tools are "
        "reported in the app with a photo, and the garden fund pays for repairs."
    )
    repeated = f"{ABOUT_V1}\n## Tools\n\n{policy}\n\n## Tool rules (copy)\n\n{policy}\n"
    report = index_version(store, scope, about_doc(), MemoryVersion(uuid4(), 1), repeated)
    assert report.duplicates >= 1
    assert store.count(scope) == report.indexed


def test_memory_survives_a_restart_in_local_mode(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    scope = new_scope()
    store = open_store(settings)
    assert qdrant_client(settings) is store.client  # one client per folder per process
    index_version(store, scope, about_doc(), MemoryVersion(uuid4(), 1), ABOUT_V1)
    close_client(settings)
    reopened = open_store(settings)
    assert reopened.client is not store.client
    assert reopened.search(scope, "raised beds", limit=1)[0].path == "docs/about.md"
    assert (tmp_path / "qdrant").is_dir()
    close_client(settings)


class CountingEmbedder:
    """The packaged model, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        self.model = shared_local_embedder()
        self.texts: list[str] = []

    @property
    def dims(self) -> int:
        return self.model.dims

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.texts.extend(texts)
        return self.model.embed(texts)


def test_a_revision_embeds_only_the_chunks_that_changed(tmp_path: Path) -> None:
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    embedder = CountingEmbedder()
    store = MemoryStore(client, embedder)
    scope, doc = new_scope(), about_doc()
    first = index_version(store, scope, doc, MemoryVersion(uuid4(), 1), ABOUT_V1 + ARCHITECTURE)
    assert first.embedded == first.indexed == len(embedder.texts) > 1
    embedder.texts.clear()
    revised = ABOUT_V1 + ARCHITECTURE.replace("nightly backups", "hourly backups")
    second = index_version(store, scope, doc, MemoryVersion(uuid4(), 2), revised)
    assert second.indexed == first.indexed and second.embedded == len(embedder.texts) == 1
    assert "hourly backups" in embedder.texts[0]
    assert second.chars == len(embedder.texts[0])
    hits = store.search(scope, "how often are backups made?", limit=1)
    assert "hourly backups" in hits[0].text and hits[0].version == 2
    other = new_scope()  # another project's identical text is embedded for it, not shared
    third = index_version(store, other, about_doc(), MemoryVersion(uuid4(), 1), revised)
    assert third.embedded == third.indexed
    client.close()
