"""The server's context size: read from what servers answer, and replies fitted into it."""

from __future__ import annotations

import pytest

from docflow.agents.context import (
    MIN_REPLY_TOKENS,
    context_in_error,
    context_in_models,
    context_in_props,
    estimated_prompt_tokens,
    fit_max_tokens,
)
from docflow.agents.errors import LLMRequestError


@pytest.mark.parametrize(
    ("detail", "tokens"),
    [
        ("Requested tokens (9000) exceed context window of 8192", 8192),  # llama-cpp-python
        ("This model's maximum context length is 4096 tokens. However, you requested 5000", 4096),
        ("the request exceeds the available context size, n_ctx = 2048", 2048),
        ("prompt is too long", None),
    ],
)
def test_the_context_size_is_read_from_the_servers_own_words(
    detail: str, tokens: int | None
) -> None:
    assert context_in_error(detail) == tokens


def test_a_models_listing_gives_the_named_models_context_or_the_only_ones() -> None:
    vllm = {"data": [{"id": "a", "max_model_len": 4096}, {"id": "b", "max_model_len": 32768}]}
    assert context_in_models(vllm, "b") == 32768
    assert context_in_models({"data": [{"id": "x", "context_length": 8192}]}, "other") == 8192
    assert context_in_models(vllm, "other") is None  # two models, neither named
    assert context_in_models({"data": [{"id": "a"}]}, "a") is None  # llama-cpp-python
    assert context_in_models({"data": [{"id": "a", "max_model_len": True}]}, "a") is None
    assert context_in_models(["not", "a", "listing"], "a") is None


def test_llama_cpp_props_give_the_slot_context() -> None:
    assert context_in_props({"default_generation_settings": {"n_ctx": 4096}}) == 4096
    assert context_in_props({"default_generation_settings": {}}) is None
    assert context_in_props("nonsense") is None


def messages(characters: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": "x" * characters}]


def test_max_tokens_is_shortened_to_the_room_the_prompt_leaves() -> None:
    prompt = estimated_prompt_tokens(messages(3000))
    assert prompt >= 1000  # three characters a token, and the template's markers
    assert fit_max_tokens(messages(3000), 900, None, "the LLM") == 900  # context unknown
    assert fit_max_tokens(messages(3000), 900, 4096, "the LLM") == 900
    assert fit_max_tokens(messages(3000), 900, prompt + 500, "the LLM") == 500


def test_a_prompt_that_leaves_no_room_is_a_final_error_naming_what_to_change() -> None:
    prompt = estimated_prompt_tokens(messages(3000))
    with pytest.raises(LLMRequestError, match=r"leaves no room.*DOCFLOW_LLM_UPSTREAM_CHARS") as e:
        fit_max_tokens(messages(3000), 900, prompt + MIN_REPLY_TOKENS - 1, "the LLM")
    assert not e.value.retryable
    assert "x" * 10 not in str(e.value)  # no prompt text in the reason
