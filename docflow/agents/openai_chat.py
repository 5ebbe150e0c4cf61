"""Any OpenAI-compatible ``/v1/chat/completions`` endpoint: structured, streamed, bounded.

``StructuredChat.ask(messages, contract, max_tokens, on_text)`` returns the reply
validated into ``contract`` and the tokens it cost. It does not import CrewAI.

Structured output, a ladder per endpoint (``FORMATS``): ``json_schema`` (strict), then
``json_object`` with the schema inside ``response_format`` (llama.cpp's server turns it
into a grammar) and in the prompt, then plain JSON with the schema in the prompt. A rung
the server refuses (recognised by the error body naming response_format or json_schema,
whatever the status code: llama.cpp answers 500) is skipped from then on for that
(base URL, model). A reply that does not fill the contract gets ``repair_attempts``
corrective re-asks, then ``MalformedReplyError`` (retryable: Temporal tries again).

Time is spent on purpose: with streaming (the default) a request may wait
``first_token_timeout_s`` for its first token and ``idle_timeout_s`` between tokens;
a request given up is closed, so the server stops generating. Every request carries
``max_tokens``, shortened to the room the prompt leaves in the server's context as
``docflow.agents.context`` learns it. Tokens come from the server's ``usage``; a stream
without one is counted at four characters a token, failed calls included
(``WriterError.usage``).

One retry layer only, Temporal's; a circuit breaker per (base URL, model) fails fast while
a provider keeps failing.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ValidationError

from docflow.agents.breaker import CircuitBreaker, CircuitOpenError
from docflow.agents.context import (
    context_in_error,
    fit_max_tokens,
    forget_contexts,
    known_context,
    probe_context,
    remember_context,
)
from docflow.agents.errors import (
    LLMRequestError,
    LLMStalledError,
    LLMUnavailableError,
    MalformedReplyError,
    WriterConfigError,
)
from docflow.agents.writer import M, TextSink, Usage

DEFAULT_BASE_URL = "https://api.openai.com/v1"
MAX_RETRY_AFTER_S = 300.0  # never park an activity longer than this on a server's say-so
CHARACTERS_PER_TOKEN = 4
Format = Literal["json_schema", "json_object", "plain"]
FORMATS: tuple[Format, ...] = ("json_schema", "json_object", "plain")
_FORMAT_WORDS = re.compile(r"response_format|json_schema|json_object|\bschema\b", re.IGNORECASE)
_CONTEXT_WORDS = re.compile(
    r"context (length|window|size)|maximum context|too many tokens|exceeds? the context",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)
_EXCERPT_CHARS = 200
_STATUS_HINTS = {
    401: "check DOCFLOW_LLM_API_KEY",
    403: "the key may not use this model or endpoint",
    404: "check DOCFLOW_LLM_BASE_URL (usually ends in /v1) and the model name",
}

Messages = list[dict[str, Any]]


@dataclass(frozen=True)
class ChatReply:
    content: str
    usage: Usage
    finish_reason: str | None = None


# --- small pure helpers ------------------------------------------------------------------


def is_transient(status: int) -> bool:
    return status in (408, 425, 429) or status >= 500


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value or not value.strip():
        return None
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(value.strip())))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(MAX_RETRY_AFTER_S, max(0.0, when.timestamp() - now()))


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with ``$ref``s replaced by their definitions, without pydantic's
    ``title`` annotations (a property may itself be called "title": it stays)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        inlined = {k: _inline_refs(v, defs) for k, v in node.items()
                   if k not in ("$defs", "title", "properties")}  # fmt: skip
        if isinstance(node.get("properties"), dict):
            inlined["properties"] = {name: _inline_refs(part, defs)
                                     for name, part in node["properties"].items()}  # fmt: skip
        return inlined
    if isinstance(node, list):
        return [_inline_refs(item, defs) for item in node]
    return node


def _close_objects(node: Any) -> Any:
    if isinstance(node, dict):
        closed = {k: _close_objects(v) for k, v in node.items()}
        if closed.get("type") == "object":
            closed["additionalProperties"] = False
            closed["required"] = list(closed.get("properties", {}))
        return closed
    if isinstance(node, list):
        return [_close_objects(item) for item in node]
    return node


def contract_schema(contract: type[BaseModel]) -> dict[str, Any]:
    """The contract's JSON schema, refs inlined and objects closed (strict mode's shape)."""
    raw = contract.model_json_schema()
    schema: dict[str, Any] = _close_objects(_inline_refs(raw, raw.get("$defs", {})))
    return schema


def response_format(kind: Format, contract: type[BaseModel]) -> dict[str, Any] | None:
    schema = contract_schema(contract)
    if kind == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": contract.__name__, "schema": schema, "strict": True},
        }
    if kind == "json_object":
        return {"type": "json_object", "schema": schema}
    return None


def skeleton(schema: dict[str, Any]) -> Any:
    """A JSON example of the schema's shape: far shorter than the schema, and what a small
    model follows best ("string", "must|should|could", 0, [item])."""
    if "enum" in schema:
        return "|".join(str(value) for value in schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        return {name: skeleton(part) for name, part in schema.get("properties", {}).items()}
    if kind == "array":
        return [skeleton(schema.get("items", {}))]
    return {"integer": 0, "number": 0, "boolean": True}.get(str(kind), "string")


def schema_instruction(contract: type[BaseModel]) -> str:
    shape = json.dumps(skeleton(contract_schema(contract)), separators=(",", ":"))
    return (
        f"Reply with exactly one JSON object ({contract.__name__}) and nothing else: no prose, "
        f"no Markdown fences. Its shape, with your own values: {shape}"
    )


def with_schema_last(messages: Messages, contract: type[BaseModel]) -> Messages:
    """The schema appended to the last user message: the stable prefix stays untouched."""
    instruction = schema_instruction(contract)
    last = messages[-1]
    if last.get("role") == "user" and isinstance(last.get("content"), str):
        return [*messages[:-1], {**last, "content": f"{last['content']}\n\n{instruction}"}]
    return [*messages, {"role": "user", "content": instruction}]


def excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT_CHARS else f"{flat[:_EXCERPT_CHARS]}..."


def error_detail(body: str) -> str:
    """The server's own error message (OpenAI shape), else an excerpt of the body."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return excerpt(body) or "(empty body)"
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return excerpt(str(error["message"]))
    if isinstance(error, str):
        return excerpt(error)
    if isinstance(parsed, dict) and isinstance(parsed.get("detail"), str | list):
        return excerpt(json.dumps(parsed["detail"]))
    return excerpt(body)


def _summarise_validation(error: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(part) for part in item['loc']) or '(root)'}: {item['msg']}"
        for item in error.errors()[:5]
    ]
    more = error.error_count() - len(problems)
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")


class MalformedReply(Exception):
    """One reply that is not a valid contract (internal: leads to a re-ask)."""


def parse_contract(content: str, contract: type[M]) -> M:
    """The reply text as a contract instance, or ``MalformedReply`` saying what is wrong."""
    text = content.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise MalformedReply(
            f"the reply is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    if not isinstance(data, dict):
        raise MalformedReply("the reply is JSON but not an object")
    try:
        return contract.model_validate(data)
    except ValidationError as error:
        raise MalformedReply(
            f"the JSON does not match {contract.__name__}: {_summarise_validation(error)}"
        ) from None


def repair_prompt(problem: MalformedReply, contract: type[BaseModel], cut: bool) -> str:
    shorter = " Keep every text short: the last reply ran out of tokens." if cut else ""
    return (
        f"Your previous reply could not be used: {problem}.{shorter} Answer again with only "
        f"the complete {contract.__name__} JSON object."
    )


def validated_base_url(base_url: str | None) -> str:
    url = (base_url or DEFAULT_BASE_URL).rstrip("/")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise WriterConfigError(f"DOCFLOW_LLM_BASE_URL {url!r} is not a URL: {error}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise WriterConfigError(f"DOCFLOW_LLM_BASE_URL {url!r} must be an http(s) URL")
    return url


def _usage(body: dict[str, Any] | None, prompt_chars: int, reply_chars: int) -> Usage:
    usage = body.get("usage") if isinstance(body, dict) else None
    if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
        return Usage(int(usage.get("prompt_tokens") or 0), int(usage["completion_tokens"]))
    return Usage(prompt_chars // CHARACTERS_PER_TOKEN, reply_chars // CHARACTERS_PER_TOKEN)


# --- which rung of the ladder each endpoint accepts (process-wide) ------------------------

_ladder_lock = threading.Lock()
_refused: dict[tuple[str, str], set[Format]] = {}


def refused_formats(base_url: str, model: str) -> set[Format]:
    with _ladder_lock:
        return set(_refused.get((base_url, model), set()))


def remember_refused(base_url: str, model: str, kind: Format) -> None:
    with _ladder_lock:
        _refused.setdefault((base_url, model), set()).add(kind)


def forget_endpoints() -> None:
    """Forget what was learnt about servers: refused formats, context sizes (tests)."""
    with _ladder_lock:
        _refused.clear()
    forget_contexts()


# --- one endpoint ------------------------------------------------------------------------


class FormatRefused(Exception):
    """The server refused this response_format (internal: the ladder goes one rung down)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ContextExceeded(Exception):
    """The server says prompt and reply exceed its context (internal: refit or give up)."""

    def __init__(self, detail: str, tokens: int | None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.tokens = tokens  # the context size the message names, if it names one

    def final(self, label: str) -> LLMRequestError:
        return LLMRequestError(
            f"the prompt is longer than the context of {label} ({self.detail}); raise the "
            "server's context size or lower DOCFLOW_LLM_UPSTREAM_CHARS"
        )


@dataclass
class ChatEndpoint:
    """POST /chat/completions to one endpoint, through its breaker, one attempt per call."""

    base_url: str
    model: str
    api_key: str | None
    breaker: CircuitBreaker
    stream: bool = True
    connect_timeout_s: float = 10.0
    first_token_timeout_s: float = 600.0
    idle_timeout_s: float = 60.0
    temperature: float | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"the LLM {self.model} at {self.base_url}"

    async def complete(
        self,
        messages: Messages,
        fmt: dict[str, Any] | None,
        max_tokens: int,
        on_text: TextSink | None,
    ) -> ChatReply:
        """One reply, ``max_tokens`` fitted into the server's context; a context learnt
        from the server's refusal gets one refitted attempt."""
        self._enter_breaker()
        context = await self._context_size()
        fitted = fit_max_tokens(messages, max_tokens, context, self.label)
        try:
            return await self._send(messages, fmt, fitted, on_text)
        except ContextExceeded as exceeded:
            if exceeded.tokens is None:
                raise exceeded.final(self.label) from None
            refitted = fit_max_tokens(messages, max_tokens, exceeded.tokens, self.label)
            if refitted >= fitted:  # what the server said changes nothing
                raise exceeded.final(self.label) from None
        try:
            return await self._send(messages, fmt, refitted, on_text)
        except ContextExceeded as exceeded:
            raise exceeded.final(self.label) from None

    async def _context_size(self) -> int | None:
        asked, tokens = known_context(self.base_url, self.model)
        if not asked:
            auth = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            tokens = await probe_context(self.base_url, self.model, auth)
            remember_context(self.base_url, self.model, tokens)
        return tokens

    async def _send(
        self,
        messages: Messages,
        fmt: dict[str, Any] | None,
        max_tokens: int,
        on_text: TextSink | None,
    ) -> ChatReply:
        payload: dict[str, Any] = {"model": self.model, "messages": messages}
        payload |= {"max_tokens": max_tokens, "stream": self.stream, **self.options}
        if self.temperature is not None:
            payload["temperature"] = self.temperature
        if fmt is not None:
            payload["response_format"] = fmt
        prompt_chars = sum(len(str(m.get("content", ""))) for m in messages)
        try:
            reply = await self._exchange(payload, prompt_chars, on_text)
        except (LLMUnavailableError, FormatRefused, LLMRequestError, ContextExceeded) as error:
            if isinstance(error, LLMUnavailableError):
                self.breaker.record_failure()
            else:
                self.breaker.record_success()  # it answered: a refusal is not ill health
            raise
        self.breaker.record_success()
        return reply

    async def _exchange(
        self, payload: dict[str, Any], prompt_chars: int, on_text: TextSink | None
    ) -> ChatReply:
        timeout = httpx.Timeout(self.first_token_timeout_s, connect=self.connect_timeout_s)
        url = f"{self.base_url}/chat/completions"
        try:
            async with (
                httpx.AsyncClient(timeout=timeout) as client,
                client.stream("POST", url, json=payload, headers=self._headers()) as response,
            ):
                if not response.is_success:
                    body = (await response.aread()).decode(errors="replace")
                    raise self._status_error(response, body)
                if not self.stream or "event-stream" not in response.headers.get(
                    "content-type", ""
                ):  # a server may answer a streaming request in one piece
                    body_text = (await response.aread()).decode(errors="replace")
                    return self._whole(body_text, prompt_chars)
                return await self._streamed(response, prompt_chars, on_text)
        except httpx.TimeoutException as error:
            raise LLMStalledError(
                f"{self.label} sent nothing within {self.first_token_timeout_s:g} s "
                f"({type(error).__name__})"
            ) from None
        except httpx.TransportError as error:
            raise LLMUnavailableError(
                f"{self.label} is unreachable ({type(error).__name__})"
            ) from None

    async def _streamed(
        self, response: httpx.Response, prompt_chars: int, on_text: TextSink | None
    ) -> ChatReply:
        """Read the event stream; waiting longer than the idle timeout closes it."""
        parts: list[str] = []
        finish: str | None = None
        usage_body: dict[str, Any] | None = None
        lines = response.aiter_lines()
        first = True
        while True:
            wait = self.first_token_timeout_s if first else self.idle_timeout_s
            try:
                line = await asyncio.wait_for(anext(lines), timeout=wait)
            except StopAsyncIteration:
                break
            except TimeoutError:
                spent = _usage(None, prompt_chars, sum(len(p) for p in parts))
                what = "no first token" if first else "no new token"
                raise LLMStalledError(
                    f"{self.label} sent {what} for {wait:g} s; the request was closed",
                    usage=spent,
                ) from None
            event = _sse_data(line)
            if event is None:
                continue
            if event == "[DONE]":
                break
            chunk = _json_or_none(event)
            if chunk is None:
                continue
            first = False
            if isinstance(chunk.get("usage"), dict):
                usage_body = chunk
            delta, chunk_finish = _delta(chunk)
            finish = chunk_finish or finish
            if delta:
                parts.append(delta)
                if on_text is not None:
                    await on_text("".join(parts))
        content = "".join(parts)
        return ChatReply(content, _usage(usage_body, prompt_chars, len(content)), finish)

    def _whole(self, body_text: str, prompt_chars: int) -> ChatReply:
        body = _json_or_none(body_text)
        try:
            assert body is not None
            choice = body["choices"][0]
            content = choice["message"].get("content") or ""
        except (AssertionError, KeyError, IndexError, TypeError, AttributeError):
            raise LLMRequestError(
                f"{self.label} answered with something that is not a chat completion "
                "(is DOCFLOW_LLM_BASE_URL right?)"
            ) from None
        return ChatReply(
            str(content), _usage(body, prompt_chars, len(str(content))), choice.get("finish_reason")
        )

    def _enter_breaker(self) -> None:
        try:
            self.breaker.before_call()
        except CircuitOpenError as error:
            raise LLMUnavailableError(str(error), error.retry_after_s) from None

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream" if self.stream else "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _status_error(self, response: httpx.Response, body: str) -> Exception:
        status = response.status_code
        detail = error_detail(body)
        if status in (400, 422, 500) and _FORMAT_WORDS.search(detail):
            return FormatRefused(f"HTTP {status}: {detail}")
        if _CONTEXT_WORDS.search(detail):
            learnt = context_in_error(detail)
            if learnt is not None:
                remember_context(self.base_url, self.model, learnt)
            return ContextExceeded(f"HTTP {status}: {detail}", learnt)
        if is_transient(status):
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            wait = "" if retry_after is None else f", Retry-After {retry_after:g} s"
            return LLMUnavailableError(
                f"{self.label} answered HTTP {status}{wait}: {detail}", retry_after
            )
        hint = _STATUS_HINTS.get(status)
        why = f" ({hint})" if hint else ""
        return LLMRequestError(
            f"{self.label} refused the request with HTTP {status}{why}: {detail}"
        )


def _sse_data(line: str) -> str | None:
    if not line.startswith("data:"):
        return None
    return line[5:].strip()


def _json_or_none(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _delta(chunk: dict[str, Any]) -> tuple[str, str | None]:
    choices = chunk.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return "", None
    choice = choices[0]
    delta = choice.get("delta") or choice.get("message") or {}
    content = delta.get("content") if isinstance(delta, dict) else None
    return (content if isinstance(content, str) else ""), choice.get("finish_reason")


# --- structured answers ------------------------------------------------------------------


@dataclass
class StructuredChat:
    """The ladder and the repair re-ask over one endpoint."""

    endpoint: ChatEndpoint
    repair_attempts: int = 1

    async def ask(
        self, messages: Messages, contract: type[M], max_tokens: int, on_text: TextSink | None
    ) -> tuple[M, Usage]:
        spent = Usage()
        conversation = list(messages)
        problem = "no reply"
        for _ in range(self.repair_attempts + 1):
            reply = await self._rung(conversation, contract, max_tokens, on_text, spent)
            spent = spent + reply.usage
            try:
                return parse_contract(reply.content, contract), spent
            except MalformedReply as malformed:
                cut = reply.finish_reason == "length"
                problem = f"{'cut off at the token limit; ' if cut else ''}{malformed}"
                conversation = [
                    *messages,
                    {"role": "assistant", "content": reply.content},
                    {"role": "user", "content": repair_prompt(malformed, contract, cut)},
                ]
        raise MalformedReplyError(
            f"{self.endpoint.label} did not fill {contract.__name__} in "
            f"{self.repair_attempts + 1} replies ({problem})",
            usage=spent,
        )

    async def _rung(
        self,
        conversation: Messages,
        contract: type[BaseModel],
        max_tokens: int,
        on_text: TextSink | None,
        spent: Usage,
    ) -> ChatReply:
        endpoint = self.endpoint
        refused = refused_formats(endpoint.base_url, endpoint.model)
        details: list[str] = []
        for kind in FORMATS:
            if kind in refused:
                continue
            prompt = (
                conversation if kind == "json_schema" else with_schema_last(conversation, contract)
            )
            try:
                return await endpoint.complete(
                    prompt, response_format(kind, contract), max_tokens, on_text
                )
            except FormatRefused as refusal:
                remember_refused(endpoint.base_url, endpoint.model, kind)
                details.append(f"{kind}: {refusal.detail}")
        raise LLMRequestError(
            f"{endpoint.label} refused every structured-output format ({'; '.join(details)})",
            usage=spent,
        )
