"""Benchmark: project memory. Embedding throughput of the packaged MiniLM on ~800-char
chunks, index_version on real Markdown, and, at each size, search p50/p95, an index step
and the store's open time and RSS in Qdrant local mode (the embedded default), for the
per-project layout docflow uses and, as the anchor, the shared collection it replaced.

    .venv/bin/python -m bench.memory [--chunks 128] [--points 10000,100000,300000]
                                     [--tenants 100] [--queries 100]
                                     [--layouts project,shared] [--location path|memory]

Each (layout, size) runs in a process of its own, so its RSS is its own. The bulk is
precomputed random unit vectors (embedding 100k chunks on 2 cores would take about an
hour) with real payloads, spread over tenants x 2 projects; the queries are real sentences
embedded by the model. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
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

from bench.measure import p95, rss_mb
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
    return (
        f"p50 {statistics.median(ordered) * 1000:7.1f} ms   p95 {p95(ordered) * 1000:7.1f} ms   "
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
        store.client.upsert(store.ensure_collection(scope), points=batch, wait=True)
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


class SharedLayoutStore(MemoryStore):
    """The anchor: every tenant's points in one local collection (docflow before
    ADR-014), so each scan reads all of them."""

    def collection_of(self, scope: TenantScope) -> str:
        return self.collection

    def _move_shared_points(self) -> None:
        return None


def bench_scale(layout: str, points: int, tenants: int, queries: int, location: str) -> None:
    """One layout at one size, in this process: load, search, index, reopen."""
    embedder = OnnxMiniLM()
    embedder.load()
    kind = SharedLayoutStore if layout == "shared" else MemoryStore
    folder = Path(tempfile.mkdtemp(prefix="docflow-bench-memory-"))
    store = open_store(location, folder / "qdrant", embedder, kind)
    try:
        started = time.perf_counter()
        with warnings.catch_warnings():
            # The bench knowingly exceeds local mode's 20k-point recommendation.
            warnings.filterwarnings("ignore", message="Local mode is not recommended")
            scopes = bulk_load(store, tenants, points, embedder.dims)
        loaded_s = time.perf_counter() - started
        searches = search_samples(store, scopes, queries)
        index = index_samples(store, scopes)
        rss = rss_mb()
        reopen = reopen_s(store, location, folder / "qdrant", embedder, kind)
        out(f"{layout:<8} {points:>8,}  load {loaded_s:6.1f} s  search {percentiles(searches)}"
            f"  index step p50 {statistics.median(index) * 1000:7.1f} ms"
            f"  open {reopen:5.1f} s  RSS {rss:6.0f} MB")  # fmt: skip
    finally:
        store.client.close()
        shutil.rmtree(folder, ignore_errors=True)


def search_samples(store: MemoryStore, scopes: list[TenantScope], queries: int) -> list[float]:
    """Qdrant query only (filtered, top 10), query vectors embedded beforehand."""
    pick = random.Random(11)
    chosen = [pick.choice(scopes) for _ in range(queries)]
    vectors = store.embedder.embed(list(QUERIES))
    store.search_vector(chosen[0], vectors[0], 10)  # warm-up
    hits = store.search_vector(chosen[0], vectors[0], 10)
    if not hits or any(not hit.path.startswith("docs/plans/") for hit in hits):
        raise SystemExit(f"sanity: {len(hits)} hits, some from outside the bench documents")
    return timed(queries, lambda i: store.search_vector(chosen[i], vectors[i % len(QUERIES)], 10))


def index_samples(store: MemoryStore, scopes: list[TenantScope]) -> list[float]:
    """index_version of one real document (the store's part and the embedding) into
    projects that already hold their share of the bulk."""
    markdown = (ROOT / "docs" / "adr" / "ADR-009-project-memory-held-by-the-worker.md").read_text()
    samples = []
    for number in range(5):
        scope = scopes[number * 7 % len(scopes)]
        document = MemoryDocument(uuid4(), "adr", "docs/adr/bench.md")
        started = time.perf_counter()
        index_version(store, scope, document, MemoryVersion(uuid4(), 1), markdown)
        samples.append(time.perf_counter() - started)
    return samples


def reopen_s(
    store: MemoryStore, location: str, folder: Path, embedder: OnnxMiniLM, kind: type[MemoryStore]
) -> float:
    """Seconds to open the folder again (local mode reads every point into memory)."""
    if location == "memory":
        return 0.0
    store.client.close()
    started = time.perf_counter()
    reopened = open_store(location, folder, embedder, kind)
    elapsed = time.perf_counter() - started
    store.client = reopened.client
    return elapsed


def open_store(
    location: str, folder: Path, embedder: OnnxMiniLM, kind: type[MemoryStore] = MemoryStore
) -> MemoryStore:
    client = QdrantClient(":memory:") if location == "memory" else QdrantClient(path=str(folder))
    return kind(client, embedder)


def main(args: argparse.Namespace) -> None:
    if args.one:
        layout, points = args.one.split(":")
        bench_scale(layout, int(points), args.tenants, args.queries, args.location)
        return
    embedder = OnnxMiniLM()
    out("== embedding (all-MiniLM-L6-v2 int8 ONNX, onnxruntime CPU) ==")
    bench_embedding(embedder, args.chunks)
    folder = Path(tempfile.mkdtemp(prefix="docflow-bench-memory-"))
    store = open_store(args.location, folder / "qdrant", embedder)
    try:
        bench_index_version(store)
    finally:
        store.client.close()
        shutil.rmtree(folder, ignore_errors=True)
    out()
    out(f"== scale: {args.tenants} tenants x 2 projects, Qdrant local mode ({args.location}) ==")
    for points in (int(n) for n in args.points.split(",")):
        for layout in args.layouts.split(","):
            command = [sys.executable, "-m", "bench.memory", "--one", f"{layout}:{points}",
                       "--tenants", str(args.tenants), "--queries", str(args.queries),
                       "--location", args.location]  # fmt: skip
            subprocess.run(command, check=True, cwd=ROOT)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chunks", type=int, default=128)
    parser.add_argument("--points", default="10000,100000,300000")
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--layouts", default="project,shared")
    parser.add_argument("--location", choices=("path", "memory"), default="path")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # layout:points, in a child process
    main(parser.parse_args())
