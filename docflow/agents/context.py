"""The server's real context size, learnt once per (base URL, model), and replies fitted
into it.

A server says how many tokens a prompt and its reply may hold in different ways: vLLM's
``/v1/models`` lists ``max_model_len``, OpenRouter and LM Studio ``context_length``,
llama.cpp's own server answers ``/props`` with ``default_generation_settings.n_ctx``, and
llama-cpp-python says nothing until a prompt is too long ("Requested tokens (9000)
exceed context window of 8192"; vLLM and OpenAI: "maximum context length is 4096
tokens"). ``probe_context`` asks the first two once; ``context_in_error`` reads the
number from an error body; ``fit_max_tokens`` shortens a section's ``max_tokens`` to the
room the prompt leaves, or says in one sentence that the prompt does not fit. The size
docflow itself gave the embedded llama.cpp server is known from the start
(``remember_context``).
"""

from __future__ import annotations

import re
import threading
from typing import Any

import httpx

from docflow.agents.errors import LLMRequestError

# A prompt's tokens are estimated from its characters before it is sent: three characters
# a token over-counts English prose and JSON a little, so a fitted reply is not cut short.
CHARACTERS_PER_PROMPT_TOKEN = 3
TEMPLATE_TOKENS_PER_MESSAGE = 8  # the chat template's role markers around each message
MIN_REPLY_TOKENS = 128  # less room than this cannot hold any section's contract
PROBE_TIMEOUT_S = 5.0
_IN_ERROR = re.compile(
    r"(?:context window of|maximum context length is|context length (?:is|of)|n_ctx\D{0,12})"
    r"\s*(\d{3,9})",
    re.IGNORECASE,
)
_MODEL_FIELDS = ("max_model_len", "context_length", "context_window", "max_context_length")

_lock = threading.Lock()
_learnt: dict[tuple[str, str], int | None] = {}  # None: asked, the server did not say


def known_context(base_url: str, model: str) -> tuple[bool, int | None]:
    """(asked already, the context size in tokens if the server told)."""
    with _lock:
        key = (base_url, model)
        return key in _learnt, _learnt.get(key)


def remember_context(base_url: str, model: str, tokens: int | None) -> None:
    with _lock:
        _learnt[(base_url, model)] = tokens


def forget_contexts() -> None:
    """Forget every learnt context size (tests)."""
    with _lock:
        _learnt.clear()


def context_in_error(detail: str) -> int | None:
    found = _IN_ERROR.search(detail)
    return int(found.group(1)) if found else None


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def context_in_models(body: Any, model: str) -> int | None:
    """The context size an OpenAI-style ``/models`` listing gives for ``model`` (or for
    its only entry: a local server often serves one model under any name)."""
    entries = body.get("data") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        return None
    entries = [entry for entry in entries if isinstance(entry, dict)]
    named = [entry for entry in entries if entry.get("id") == model]
    for entry in named or (entries if len(entries) == 1 else []):
        for name in _MODEL_FIELDS:
            tokens = _positive_int(entry.get(name))
            if tokens is not None:
                return tokens
    return None


def context_in_props(body: Any) -> int | None:
    """llama.cpp's ``/props``: the context of one slot, as the server was started."""
    settings = body.get("default_generation_settings") if isinstance(body, dict) else None
    return _positive_int(settings.get("n_ctx")) if isinstance(settings, dict) else None


async def probe_context(base_url: str, model: str, headers: dict[str, str]) -> int | None:
    """Ask the server its context size: ``{base}/models``, then llama.cpp's ``/props``
    beside ``/v1``. Any failure means "not told"; the request goes on without a bound."""
    root = base_url.removesuffix("/v1")
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_S) as client:
        listing = await _get_json(client, f"{base_url}/models", headers)
        tokens = context_in_models(listing, model)
        if tokens is None:
            tokens = context_in_props(await _get_json(client, f"{root}/props", headers))
    return tokens


async def _get_json(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> Any:
    try:
        response = await client.get(url, headers=headers)
        return response.json() if response.is_success else None
    except (httpx.HTTPError, ValueError):
        return None


def estimated_prompt_tokens(messages: list[dict[str, Any]]) -> int:
    characters = sum(len(str(message.get("content", ""))) for message in messages)
    return characters // CHARACTERS_PER_PROMPT_TOKEN + TEMPLATE_TOKENS_PER_MESSAGE * len(messages)


def fit_max_tokens(
    messages: list[dict[str, Any]], max_tokens: int, context: int | None, label: str
) -> int:
    """``max_tokens`` shortened to the room the prompt leaves in ``context``; a prompt that
    leaves less than ``MIN_REPLY_TOKENS`` is a final error (retrying cannot make it fit)."""
    if context is None:
        return max_tokens
    prompt = estimated_prompt_tokens(messages)
    room = context - prompt
    if room < min(max_tokens, MIN_REPLY_TOKENS):
        raise LLMRequestError(
            f"the prompt (about {prompt} tokens) leaves no room for a reply in the "
            f"{context}-token context of {label}; raise the server's context size or lower "
            "DOCFLOW_LLM_UPSTREAM_CHARS"
        )
    return min(max_tokens, room)
