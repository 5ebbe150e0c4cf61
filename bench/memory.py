"""Benchmark: project memory. Embedding throughput of the packaged MiniLM on ~800-char
chunks, index_version on real Markdown, and search p50/p95 with 100k chunks across 100
tenants in Qdrant local mode (the embedded default).

    .venv/bin/python -m bench.memory [--chunks 128] [--points 100000] [--tenants 100]
                                     [--queries 100] [--location path|memory]

The 100k bulk is precomputed random unit vectors (embedding 100k chunks on 2 cores would
take about an hour); the queries are real sentences embedded by the model. Prints figures;
asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from uuid import NAMESPACE_URL, uuid4, uuid5

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client import models as qm

from docflow.contracts import TenantScope
from docflow.memory.chunking import chunk_markdown, dedupe
from docflow.memory.embedding import OnnxMiniLM
from docflow.memory.pipeline import index_version
from docflow.memory.store import (
    EmbeddedChunk,
    MemoryDocument,
    MemoryStore,
    MemoryVersion,
    point_id,
    point_payload,
)

ROOT = Path(__file__).resolve().parent.parent
QUERIES = (
    "How does the approval gate wait for a person?",
    "Which database holds the documents and how is tenancy enforced?",
    "What happens when a worker crashes during an activity?",
    "How are rate limits applied per tenant?",
    "Where are exports stored and how long do download links live?",
    "What are the quality gates of the Definition of Done?",
    "How does progress reach the browser over SSE?",
    "Which embedding model does project memory use?",
)
SAMPLE_TEXT = (
    "The approval gate waits durably for a person; revisions carry feedback to the agent. " * 10
)[:800]


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def percentiles(samples: Sequence[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   "
        f"max {ordered[-1] * 1000:7.1f} ms   (n={len(ordered)})"
    )


def project_markdown() -> list[Path]:
    return sorted([*ROOT.glob("docs/*.md"), *ROOT.glob("docs/adr/*.md")])


def sample_chunks(count: int) -> list[str]:
    """Real ~800-char chunks from this repository's own docs (cycled up to ``count``)."""
    texts = [
        chunk.text
        for path in project_markdown()
        for chunk in dedupe(chunk_markdown(path.read_text()))
        if len(chunk.text) >= 600
    ] or [SAMPLE_TEXT]
    return [texts[i % len(texts)] for i in range(count)]


# --- embedding ------------------------------------------------------------------------


def bench_embedding(embedder: OnnxMiniLM, count: int) -> None:
    chunks = sample_chunks(count)
    started = time.perf_counter()
    embedder.load()
    out(f"model load (sha256 check + onnxruntime session): {time.perf_counter() - started:.2f} s")
    embedder.embed(chunks[:4])  # warm-up
    tokens = embedder.count_tokens(chunks) / len(chunks)
    chars = sum(map(len, chunks)) / len(chunks)
    out(f"chunks: {len(chunks)}, mean {chars:.0f} chars, mean {tokens:.0f} tokens")
    for batch_size in (1, 4, 16):
        batched = OnnxMiniLM(batch_size=batch_size)
        batched.load()
        started = time.perf_counter()
        batched.embed(chunks)
        elapsed = time.perf_counter() - started
        label = "default" if batch_size == 1 else "padded batches"
        out(
            f"embedding throughput, {batch_size:2d} text(s) per forward pass ({label}): "
            f"{len(chunks) / elapsed:6.1f} chunks/s"
        )


def bench_index_version(store: MemoryStore) -> None:
    scope = TenantScope(tenant_id=uuid4(), project_id=uuid4())
    reports = [
        index_version(
            store,
            scope,
            MemoryDocument(uuid4(), "doc", str(path.relative_to(ROOT))),
            MemoryVersion(uuid4(), 1),
            path.read_text(),
        )
        for path in project_markdown()
    ]
    chunks = sum(r.indexed for r in reports)
    dropped = sum(r.duplicates for r in reports)
    total_ms = sum(r.total_ms for r in reports)
    embed_ms = sum(r.embed_ms for r in reports)
    out(
        f"index_version on {len(reports)} real documents: {chunks} chunks "
        f"({dropped} duplicates dropped) in {total_ms / 1000:.2f} s "
        f"(embedding {embed_ms / 1000:.2f} s, {chunks / (embed_ms / 1000):.1f} chunks/s)"
    )
    store.purge_project(scope)


# --- search at 100k -------------------------------------------------------------------


def random_unit_vectors(rng: np.random.Generator, count: int, dims: int) -> list[list[float]]:
    vectors = rng.standard_normal((count, dims)).astype(np.float32)
    unit: list[list[float]] = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).tolist()
    return unit


def bulk_load(store: MemoryStore, tenants: int, points: int, dims: int) -> list[TenantScope]:
    """``points`` random-vector chunks: ``tenants`` tenants x 2 projects x documents of 20
    chunks, with the payload the store writes."""
    rng = np.random.default_rng(7)
    scopes = [
        TenantScope(
            tenant_id=uuid5(NAMESPACE_URL, f"t{t}"), project_id=uuid5(NAMESPACE_URL, f"p{t}.{p}")
        )
        for t in range(tenants)
        for p in range(2)
    ]
    per_scope = points // len(scopes)
    texts = sample_chunks(64)
    for number, scope in enumerate(scopes):
        vectors = random_unit_vectors(rng, per_scope, dims)
        batch = [
            _point(scope, i, texts[(number + i) % len(texts)], vectors[i]) for i in range(per_scope)
        ]
        store.client.upsert(store.collection, points=batch, wait=True)
    return scopes


def _point(scope: TenantScope, i: int, text: str, vector: list[float]) -> qm.PointStruct:
    document = MemoryDocument(
        uuid5(scope.project_id, str(i // 20)), "epic", f"docs/plans/{i // 20:02d}.md"
    )
    version = MemoryVersion(uuid5(document.document_id, "1"), 1)
    chunk = EmbeddedChunk(index=i % 20, text=text, heading="Bench", vector=vector)
    return qm.PointStruct(
        id=point_id(scope, document.document_id, 1, chunk.index),
        vector=vector,
        payload=point_payload(scope, document, version, chunk),
    )


def timed(calls: int, call: Callable[[int], object]) -> list[float]:
    samples = []
    for i in range(calls):
        started = time.perf_counter()
        call(i)
        samples.append(time.perf_counter() - started)
    return samples


def bench_search(store: MemoryStore, scopes: list[TenantScope], queries: int) -> None:
    pick = random.Random(11)
    chosen = [pick.choice(scopes) for _ in range(queries)]
    texts = [QUERIES[i % len(QUERIES)] for i in range(queries)]
    vectors = store.embedder.embed(list(QUERIES))
    store.search(chosen[0], texts[0], 10)  # warm-up
    only_qdrant = timed(
        queries, lambda i: store.search_vector(chosen[i], vectors[i % len(QUERIES)], 10)
    )
    end_to_end = timed(queries, lambda i: store.search(chosen[i], texts[i], 10))
    embed_only = timed(queries, lambda i: store.embedder.embed([texts[i]]))
    hits = store.search(chosen[0], texts[0], 10)
    out(f"search, Qdrant query only (filtered, top 10): {percentiles(only_qdrant)}")
    out(f"search, end to end (embed query + query):     {percentiles(end_to_end)}")
    out(f"query embedding alone:                        {percentiles(embed_only)}")
    leaked = [hit for hit in hits if hit.path and not hit.path.startswith("docs/plans/")]
    out(f"sanity: {len(hits)} hits for one query, {len(leaked)} from outside the bench documents")


def open_store(location: str, folder: Path, embedder: OnnxMiniLM) -> MemoryStore:
    client = QdrantClient(":memory:") if location == "memory" else QdrantClient(path=str(folder))
    return MemoryStore(client, embedder)


def main(chunks: int, points: int, tenants: int, queries: int, location: str) -> None:
    embedder = OnnxMiniLM()
    out("== embedding (all-MiniLM-L6-v2 int8 ONNX, onnxruntime CPU) ==")
    bench_embedding(embedder, chunks)
    folder = Path(tempfile.mkdtemp(prefix="docflow-bench-memory-"))
    store = open_store(location, folder / "qdrant", embedder)
    try:
        bench_index_version(store)
        out()
        out(f"== search: {points:,} chunks, {tenants} tenants x 2 projects ==")
        out(f"Qdrant local mode ({location}), the embedded default.")
        out("bulk: precomputed random unit vectors (384 dims) with real payloads; queries: real")
        out("sentences embedded by the model. Local mode is exact (brute-force) search.")
        started = time.perf_counter()
        with warnings.catch_warnings():
            # The bench knowingly exceeds local mode's 20k-point recommendation.
            warnings.filterwarnings("ignore", message="Local mode is not recommended")
            scopes = bulk_load(store, tenants, points, embedder.dims)
        total = store.client.count(store.collection).count
        out(f"bulk load: {time.perf_counter() - started:.1f} s, {total:,} points")
        bench_search(store, scopes, queries)
    finally:
        store.client.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chunks", type=int, default=128)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--location", choices=("path", "memory"), default="path")
    args = parser.parse_args()
    main(args.chunks, args.points, args.tenants, args.queries, args.location)
