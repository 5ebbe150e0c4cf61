"""Any OpenAI-compatible ``/v1/chat/completions`` endpoint as a CrewAI LLM.

``OpenAICompatibleLLM.for_step(settings, step)`` builds the writer of one step: base URL,
key, timeouts, breaker thresholds from settings, and the step's model from
``llm_models_by_role`` (else ``llm_model``).

Structured output: with a ``response_model`` (CrewAI passes the task's ``output_pydantic``)
the request asks for ``response_format: json_schema`` built from the contract. A server
that rejects it (HTTP 400/422: llama.cpp's server, older models) is asked again at once
with ``json_object`` and the schema in the system prompt, and the rejection is remembered
per (base URL, model) for the life of the process. The reply is validated into the
contract; an invalid one gets one corrective re-ask (``llm_json_repair_attempts``), then
``LLMOutputError``.

One retry layer only, Temporal's:
- ``LLMUnavailableError`` (a retryable temporalio ``ApplicationError``): HTTP 429, 408,
  425 and 5xx, timeouts, connection failures and an open circuit breaker. It carries the
  server's ``Retry-After`` (or the breaker's remaining open time) as ``next_retry_delay``;
  ``activities.steps`` re-raises it unchanged, so Temporal waits that long.
- ``LLMRequestError`` / ``LLMOutputError`` (``ValueError``): any other 4xx, a body that is
  not a chat completion, replies that stay invalid after the re-ask. ``activities.steps``
  turns a ValueError into a non-retryable ``InvalidInput`` failure with this message.
- CrewAI wraps every ``BaseLLM.call`` in its own 3-try rate-limit retry; ``call`` and
  ``acall`` here opt out of it (see ``_without_crewai_retry``).

Budget: one call makes at most 2 (formats) x (1 + repair attempts) requests of up to
``llm_timeout_s`` each: 4 x 180 s with the defaults, inside ProjectFlow's 15-minute
activity timeout. ``Retry-After`` is honoured up to ``MAX_RETRY_AFTER_S``.

Tokens: the ``usage`` of every reply goes to CrewAI's ``_track_token_usage_internal``, so
``CrewOutput.token_usage`` (read by ``crew.write_step``) carries tokens in/out.
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
from datetime import UTC, timedelta
from typing import Any, TypeVar

import httpx
from crewai import BaseLLM
from crewai.utilities.pydantic_schema_utils import generate_model_description
from pydantic import BaseModel, ValidationError
from temporalio.exceptions import ApplicationError

from docflow.agents.breaker import CircuitBreaker, CircuitOpenError, breaker_for
from docflow.contracts import STEP_AGENT, Step
from docflow.settings import Settings

DEFAULT_BASE_URL = "https://api.openai.com/v1"
MAX_RETRY_AFTER_S = 300.0  # never park an activity longer than this on a server's say-so
SCHEMA_REJECTED_STATUSES = frozenset({400, 422})
_EXCERPT_CHARS = 300
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)
_STATUS_HINTS = {
    401: "check DOCFLOW_LLM_API_KEY",
    403: "the key may not use this model or endpoint",
    404: "check DOCFLOW_LLM_BASE_URL (usually ends in /v1) and the model name",
}

Messages = list[dict[str, Any]]
F = TypeVar("F", bound=Callable[..., Any])


# --- errors ------------------------------------------------------------------------------


class LLMUnavailableError(ApplicationError):
    """Retryable: the provider is down, slow, throttling, or its breaker is open."""

    def __init__(
        self, message: str, retry_after_s: float | None = None, kind: str = "LLMUnavailable"
    ) -> None:
        delay = None
        if retry_after_s is not None:
            delay = timedelta(seconds=min(max(retry_after_s, 0.0), MAX_RETRY_AFTER_S))
        super().__init__(message, type=kind, next_retry_delay=delay)
        self.retry_after_s = retry_after_s


class LLMRequestError(ValueError):
    """Non-retryable: the provider refused the request (4xx other than 408/425/429)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LLMOutputError(ValueError):
    """Non-retryable: the provider's answers never filled the contract."""


class MalformedReply(Exception):
    """One reply that is not a valid contract (internal: leads to a re-ask)."""


@dataclass(frozen=True)
class ChatReply:
    """The first choice of a chat completion, and the usage the server reported."""

    content: str
    usage: dict[str, Any]
    finish_reason: str | None = None


# --- small pure helpers ------------------------------------------------------------------


def is_transient(status: int) -> bool:
    return status in (408, 425, 429) or status >= 500


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value or not value.strip():
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now())


def json_schema_format(contract: type[BaseModel]) -> dict[str, Any]:
    """``response_format`` for OpenAI structured outputs (strict, refs inlined)."""
    return dict(generate_model_description(contract))


def contract_schema(contract: type[BaseModel]) -> dict[str, Any]:
    schema: dict[str, Any] = json_schema_format(contract)["json_schema"]["schema"]
    return schema


def schema_instruction(contract: type[BaseModel]) -> str:
    schema = json.dumps(contract_schema(contract))
    return (
        "Reply with exactly one JSON object and nothing else: no prose, no Markdown fences. "
        f"It must validate against this JSON schema (title {contract.__name__}):\n{schema}"
    )


def with_schema_instruction(messages: Messages, contract: type[BaseModel]) -> Messages:
    """The conversation with the schema in its system prompt (one system message only)."""
    instruction = schema_instruction(contract)
    if messages and messages[0].get("role") == "system":
        first = messages[0]
        if isinstance(first.get("content"), str):
            merged = {**first, "content": f"{first['content']}\n\n{instruction}"}
            return [merged, *messages[1:]]
    return [{"role": "system", "content": instruction}, *messages]


def as_messages(messages: Any) -> Messages:
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    return [dict(message) for message in messages]


def excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT_CHARS else f"{flat[:_EXCERPT_CHARS]}..."


def error_detail(response: httpx.Response) -> str:
    """The server's own error message (OpenAI shape), else an excerpt of the body."""
    try:
        body = response.json()
    except ValueError:
        return excerpt(response.text) or "(empty body)"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return excerpt(str(error["message"]))
    if isinstance(error, str):
        return excerpt(error)
    return excerpt(response.text)


def _summarise_validation(error: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(part) for part in item['loc']) or '(root)'}: {item['msg']}"
        for item in error.errors()[:5]
    ]
    more = error.error_count() - len(problems)
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")


def parse_contract(content: str, contract: type[BaseModel]) -> BaseModel:
    """The reply text as a contract instance, or ``MalformedReply`` saying what is wrong."""
    text = content.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise MalformedReply(
            f"the reply is not valid JSON ({error.msg} at line {error.lineno} column "
            f"{error.colno}): {excerpt(content) or '(empty)'}"
        ) from None
    if not isinstance(data, dict):
        raise MalformedReply(f"the reply is JSON but not an object: {excerpt(content)}")
    try:
        return contract.model_validate(data)
    except ValidationError as error:
        raise MalformedReply(
            f"the JSON does not match {contract.__name__}: {_summarise_validation(error)}"
        ) from None


def reply_contract(reply: ChatReply, contract: type[BaseModel]) -> BaseModel:
    if reply.finish_reason == "length":
        raise MalformedReply(
            f"the reply was cut off at the token limit: {excerpt(reply.content) or '(empty)'}"
        )
    return parse_contract(reply.content, contract)


def repair_prompt(problem: MalformedReply, contract: type[BaseModel]) -> str:
    return (
        f"Your previous reply could not be used: {problem}. Answer again with only the "
        f"complete {contract.__name__} JSON object that follows the schema."
    )


def model_for_step(settings: Settings, step: Step) -> str:
    """The step's model: ``llm_models_by_role`` by step or agent name, else ``llm_model``."""
    mapping = settings.llm_models_by_role
    known = {s.value for s in Step} | set(STEP_AGENT.values())
    unknown = sorted(set(mapping) - known)
    if unknown:
        raise ValueError(
            f"DOCFLOW_LLM_MODELS_BY_ROLE names unknown roles {unknown}: use step names "
            f"{sorted(s.value for s in Step)} or agent names {sorted(STEP_AGENT.values())}"
        )
    return mapping.get(step.value) or mapping.get(STEP_AGENT[step]) or settings.llm_model


def validated_base_url(base_url: str | None) -> str:
    url = (base_url or DEFAULT_BASE_URL).rstrip("/")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise ValueError(f"DOCFLOW_LLM_BASE_URL {url!r} is not a URL: {error}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"DOCFLOW_LLM_BASE_URL {url!r} must be an http(s) URL")
    return url


# --- which servers reject json_schema (process-wide) --------------------------------------

_schema_lock = threading.Lock()
_rejects_json_schema: set[tuple[str, str]] = set()


def rejects_json_schema(base_url: str, model: str) -> bool:
    with _schema_lock:
        return (base_url, model) in _rejects_json_schema


def remember_json_schema_rejected(base_url: str, model: str) -> None:
    with _schema_lock:
        _rejects_json_schema.add((base_url, model))


def forget_schema_support() -> None:
    """Forget which servers rejected json_schema (tests)."""
    with _schema_lock:
        _rejects_json_schema.clear()


# --- one endpoint ------------------------------------------------------------------------


@dataclass
class ChatCompletions:
    """POST /chat/completions to one endpoint, through its breaker, one attempt per call."""

    base_url: str
    model: str
    api_key: str | None
    timeout: httpx.Timeout
    breaker: CircuitBreaker
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    @property
    def label(self) -> str:
        return f"LLM {self.model} at {self.base_url}"

    def complete(self, messages: Messages, contract: type[BaseModel] | None) -> ChatReply:
        if contract is None:
            return self._reply(self._send(messages, None))
        if rejects_json_schema(self.base_url, self.model):
            return self._json_object(messages, contract)
        response = self._send(messages, json_schema_format(contract))
        if response.status_code not in SCHEMA_REJECTED_STATUSES:
            return self._reply(response)
        return self._json_object(messages, contract, rejected=response)

    def _json_object(
        self, messages: Messages, contract: type[BaseModel], rejected: httpx.Response | None = None
    ) -> ChatReply:
        prompt = with_schema_instruction(messages, contract)
        response = self._send(prompt, {"type": "json_object"})
        if rejected is None:
            return self._reply(response)
        if response.is_success:
            remember_json_schema_rejected(self.base_url, self.model)
            return self._reply(response)
        note = f"json_schema refused with HTTP {rejected.status_code}: {error_detail(rejected)}"
        return self._reply(response, note=f" (after falling back to json_object; {note})")

    def _send(self, messages: Messages, response_format: dict[str, Any] | None) -> httpx.Response:
        """One HTTP attempt through the breaker; transient statuses count as failures."""
        self._enter_breaker()
        payload: dict[str, Any] = {"model": self.model, "messages": messages, "stream": False}
        if response_format is not None:
            payload["response_format"] = response_format
        response = self._post({**payload, **self.options})
        if is_transient(response.status_code):
            self.breaker.record_failure()
        else:
            self.breaker.record_success()  # it answered: a 4xx is our problem, not its health
        return response

    def _post(self, payload: dict[str, Any]) -> httpx.Response:
        try:
            with httpx.Client(timeout=self.timeout) as client:
                return client.post(self.url, json=payload, headers=self._headers())
        except httpx.TimeoutException as error:
            failure = LLMUnavailableError(
                f"{self.label} did not answer within {self.timeout.read} s ({type(error).__name__})"
            )
        except httpx.TransportError as error:
            failure = LLMUnavailableError(
                f"{self.label} is unreachable ({type(error).__name__}: {error})"
            )
        except Exception:
            self.breaker.record_failure()
            raise
        self.breaker.record_failure()
        raise failure

    def _enter_breaker(self) -> None:
        try:
            self.breaker.before_call()
        except CircuitOpenError as error:
            open_error = LLMUnavailableError(str(error), error.retry_after_s, "LLMCircuitOpen")
        else:
            return
        raise open_error

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _reply(self, response: httpx.Response, note: str = "") -> ChatReply:
        if not response.is_success:
            raise self._status_error(response, note)
        try:
            body = response.json()
            choice = body["choices"][0]
            content = choice["message"].get("content")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise LLMOutputError(
                f"{self.label} answered HTTP {response.status_code} with something that is "
                f"not a chat completion (is DOCFLOW_LLM_BASE_URL right?): "
                f"{excerpt(response.text) or '(empty body)'}"
            ) from None
        usage = body.get("usage")
        return ChatReply(
            content=content if isinstance(content, str) else "",
            usage=usage if isinstance(usage, dict) else {},
            finish_reason=choice.get("finish_reason"),
        )

    def _status_error(
        self, response: httpx.Response, note: str
    ) -> LLMUnavailableError | LLMRequestError:
        status = response.status_code
        detail = error_detail(response)
        if is_transient(status):
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            wait = "" if retry_after is None else f", Retry-After {retry_after:g} s"
            return LLMUnavailableError(
                f"{self.label} answered HTTP {status}{wait}: {detail}{note}", retry_after
            )
        hint = _STATUS_HINTS.get(status)
        why = f" ({hint})" if hint else ""
        return LLMRequestError(
            f"{self.label} refused the request with HTTP {status}{why}: {detail}{note}", status
        )


# --- the CrewAI LLM ----------------------------------------------------------------------


def _without_crewai_retry(method: F) -> F:
    """Keep CrewAI from wrapping ``method`` in its own rate-limit retry.

    ``BaseLLM.__init_subclass__`` wraps a subclass's ``call``/``acall`` in a 3-try retry
    for errors that look like throttling (status 429, "rate limit" in the message, ...),
    unless the method is already marked as wrapped. Temporal is our only retry layer.
    """
    vars(method)["_crewai_rate_limit_wrapped"] = True
    return method


class OpenAICompatibleLLM(BaseLLM):
    """A CrewAI LLM speaking the OpenAI chat completions protocol over httpx."""

    llm_type: str = "openai-compatible"
    provider: str = "openai-compatible"
    base_url: str | None = DEFAULT_BASE_URL
    timeout_s: float = 120.0
    connect_timeout_s: float = 10.0
    json_repair_attempts: int = 1
    breaker_failures: int = 5
    breaker_reset_s: float = 30.0
    context_window: int = 128_000

    @classmethod
    def for_step(cls, settings: Settings, step: Step) -> OpenAICompatibleLLM:
        return cls(
            model=model_for_step(settings, step),
            base_url=validated_base_url(settings.llm_base_url),
            api_key=settings.llm_api_key,
            timeout_s=settings.llm_timeout_s,
            connect_timeout_s=settings.llm_connect_timeout_s,
            json_repair_attempts=settings.llm_json_repair_attempts,
            breaker_failures=settings.llm_breaker_failures,
            breaker_reset_s=settings.llm_breaker_reset_s,
            context_window=settings.llm_context_window,
        )

    def endpoint(self) -> ChatCompletions:
        base_url = validated_base_url(self.base_url)
        options: dict[str, Any] = {}
        if self.temperature is not None:
            options["temperature"] = self.temperature
        if self.max_tokens is not None:
            options["max_tokens"] = int(self.max_tokens)
        return ChatCompletions(
            base_url=base_url,
            model=self.model,
            api_key=self.api_key,
            timeout=httpx.Timeout(self.timeout_s, connect=self.connect_timeout_s),
            breaker=breaker_for(base_url, self.model, self.breaker_failures, self.breaker_reset_s),
            options=options,
        )

    @_without_crewai_retry
    def call(
        self,
        messages: Any,
        tools: Any = None,
        callbacks: Any = None,
        available_functions: Any = None,
        from_task: Any = None,
        from_agent: Any = None,
        response_model: type[BaseModel] | None = None,
    ) -> str | BaseModel:
        endpoint = self.endpoint()
        conversation = as_messages(messages)
        if response_model is None:
            return self._complete(endpoint, conversation, None).content
        return self._structured(endpoint, conversation, response_model)

    @_without_crewai_retry
    async def acall(
        self,
        messages: Any,
        tools: Any = None,
        callbacks: Any = None,
        available_functions: Any = None,
        from_task: Any = None,
        from_agent: Any = None,
        response_model: type[BaseModel] | None = None,
    ) -> str | BaseModel:
        return await asyncio.to_thread(
            self.call, messages, tools, callbacks, available_functions, from_task, from_agent,
            response_model,
        )  # fmt: skip

    def _complete(
        self, endpoint: ChatCompletions, conversation: Messages, contract: type[BaseModel] | None
    ) -> ChatReply:
        reply = endpoint.complete(conversation, contract)
        if reply.usage:
            self._track_token_usage_internal(reply.usage)
        return reply

    def _structured(
        self, endpoint: ChatCompletions, conversation: Messages, contract: type[BaseModel]
    ) -> BaseModel:
        problems: list[str] = []
        for _ in range(self.json_repair_attempts + 1):
            reply = self._complete(endpoint, conversation, contract)
            try:
                return reply_contract(reply, contract)
            except MalformedReply as problem:
                problems.append(str(problem))
                conversation = [
                    *conversation,
                    {"role": "assistant", "content": reply.content},
                    {"role": "user", "content": repair_prompt(problem, contract)},
                ]
        raise LLMOutputError(
            f"{endpoint.label} did not return a valid {contract.__name__} in "
            f"{len(problems)} replies; last problem: {problems[-1]}"
        )

    def supports_function_calling(self) -> bool:
        return False

    def supports_stop_words(self) -> bool:
        return False

    def get_context_window_size(self) -> int:
        return self.context_window
