"""DOCFLOW_LLM_PROVIDER=local: llama.cpp's server as one more embedded service."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from docflow.agents.errors import WriterConfigError
from docflow.agents.writers import model_for_step, structured_chat
from docflow.contracts import Step
from docflow.embedded import StackEndpoints, export_env, llama_server_command, local_model_path
from docflow.settings import Settings


def test_a_local_provider_needs_a_model_file(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="DOCFLOW_LLM_MODEL_PATH"):
        local_model_path(Settings(llm_provider="local"))
    with pytest.raises(RuntimeError, match=r"missing\.gguf"):
        local_model_path(Settings(llm_provider="local", llm_model_path=tmp_path / "missing.gguf"))
    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"GGUF")
    assert local_model_path(Settings(llm_provider="local", llm_model_path=model)) == model


def test_without_the_extra_the_error_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(RuntimeError, match=r"pip install -e .\.\[local-llm\]."):
        llama_server_command(Settings(), tmp_path / "m.gguf", 8081)


def test_the_server_listens_on_loopback_with_the_configured_context(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    argv = llama_server_command(Settings(llm_context_size=4096), tmp_path / "m.gguf", 8099)
    assert argv[1:3] == ["-m", "llama_cpp.server"]
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert argv[argv.index("--port") + 1] == "8099"
    assert argv[argv.index("--n_ctx") + 1] == "4096"
    assert argv[argv.index("--interrupt_requests") + 1] == "False"  # requests queue


def test_the_embedded_server_reaches_the_worker_and_names_the_model(tmp_path: Path) -> None:
    endpoints = StackEndpoints("127.0.0.1:7233", None, "db", "admin", "redis", str(tmp_path),
                               llm_base_url="http://127.0.0.1:8081/v1")  # fmt: skip
    assert export_env(endpoints)["DOCFLOW_LLM_BASE_URL"] == "http://127.0.0.1:8081/v1"
    local = Settings(llm_provider="local", llm_model_path=tmp_path / "qwen-1.5b.gguf")
    assert model_for_step(local, Step.PLAN) == "qwen-1.5b"
    with pytest.raises(WriterConfigError, match="docflow dev starts"):
        structured_chat(local, Step.PLAN)  # no server yet: a clear configuration error
