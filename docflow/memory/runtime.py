"""The process's Qdrant client and memory store, from settings.

``QDRANT_URL`` set: that server. Absent: local mode in ``<data_dir>/qdrant`` (or
``DOCFLOW_QDRANT_PATH``), which allows one client per folder per process, so the client is
opened once per process and shared.
"""

from __future__ import annotations

import threading

from qdrant_client import QdrantClient

from docflow.memory.embedding import make_embedder
from docflow.memory.store import MemoryStore
from docflow.settings import Settings

_clients: dict[str, QdrantClient] = {}
_lock = threading.Lock()


def _key(settings: Settings) -> str:
    return settings.qdrant_url or str(settings.qdrant_local_path.resolve())


def qdrant_client(settings: Settings) -> QdrantClient:
    """The shared client for the configured Qdrant (server, or local folder)."""
    key = _key(settings)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _open(settings)
            _clients[key] = client
        return client


def _open(settings: Settings) -> QdrantClient:
    if settings.qdrant_url:
        return QdrantClient(url=settings.qdrant_url)
    path = settings.qdrant_local_path
    path.mkdir(parents=True, exist_ok=True)
    return QdrantClient(path=str(path))


def open_store(settings: Settings) -> MemoryStore:
    """A memory store on the shared client, with the configured embedder."""
    return MemoryStore(qdrant_client(settings), make_embedder(settings))


def close_client(settings: Settings) -> None:
    """Close the shared client of this Qdrant (releases its local-mode folder)."""
    with _lock:
        client = _clients.pop(_key(settings), None)
    if client is not None:
        client.close()


def close_clients() -> None:
    """Close every shared client (releases local-mode folders), e.g. at worker shutdown."""
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
