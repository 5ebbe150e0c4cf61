"""A real OpenAI-compatible chat completions server for tests, scripted per test.

``FakeOpenAIServer`` serves ``POST /v1/chat/completions`` over HTTP on 127.0.0.1 (a free
port) from a thread of the test process. By default it answers like a model that follows
the requested schema: it finds which contract the request asks for (the ``json_schema``
name, or a contract's title in the prompt when the client fell back to ``json_object``)
and drafts it with the offline drafting from the idea in the prompt, with a ``usage``
block. Tests script faults, consumed one per chat request in order: ``Fault.status``
(429 with Retry-After, 500, 401, ...), ``Fault.slow`` (answers after the client gave up),
``Fault.malformed`` (truncated JSON content), ``Fault.content`` (any content) and
``Fault.not_a_completion`` (HTTP 200 with an HTML page). ``reject_json_schema=True``
makes it answer 400 to every ``json_schema`` request, like llama.cpp's server; an
``api_key`` makes it answer 401 to any other bearer token.
"""

from __future__ import annotations

import collections
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

from pydantic import BaseModel

from docflow.agents.contracts import CONTRACT_FOR_STEP
from docflow.agents.drafting import draft_contract
from docflow.contracts import Step, StepBrief

CHAT_PATH = "/v1/chat/completions"
CONTRACTS: dict[str, tuple[Step, type[BaseModel]]] = {
    contract.__name__: (step, contract) for step, contract in CONTRACT_FOR_STEP.items()
}
_TITLE = re.compile(r'"title":\s*"(' + "|".join(CONTRACTS) + r')"')
_PROJECT = re.compile(r"of the project \u201c(.+?)\u201d")
_IDEA = re.compile(r"## Idea\n\n(.*?)\n\n## Constraints", re.DOTALL)
_CONSTRAINTS = re.compile(r"## Constraints\n\n(.*?)\n\n## ", re.DOTALL)
_CHARACTERS_PER_TOKEN = 4

FaultKind = Literal["status", "slow", "malformed", "content", "not_a_completion"]


@dataclass(frozen=True)
class Fault:
    """What the server does with one chat request instead of answering normally."""

    kind: FaultKind
    status: int = 500
    message: str = "injected fault"
    retry_after: str | None = None
    delay_s: float = 0.0
    content: str = ""

    @classmethod
    def status_error(cls, status: int, message: str = "injected fault") -> Fault:
        return cls("status", status=status, message=message)

    @classmethod
    def rate_limited(cls, retry_after: str = "1") -> Fault:
        message = "Rate limit reached for requests. Please try again later."
        return cls("status", status=429, message=message, retry_after=retry_after)

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        return cls("status", status=status, message="The server had an error")

    @classmethod
    def slow(cls, delay_s: float) -> Fault:
        return cls("slow", delay_s=delay_s)

    @classmethod
    def malformed(cls) -> Fault:
        return cls("malformed")

    @classmethod
    def reply(cls, content: str) -> Fault:
        return cls("content", content=content)

    @classmethod
    def not_a_completion(cls) -> Fault:
        return cls("not_a_completion")


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def response_format(self) -> str | None:
        response_format = self.body.get("response_format")
        return response_format.get("type") if isinstance(response_format, dict) else None

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages = self.body.get("messages")
        return messages if isinstance(messages, list) else []


def prompt_text(body: dict[str, Any]) -> str:
    messages = body.get("messages") or []
    return "\n".join(str(message.get("content", "")) for message in messages)


def requested_contract(body: dict[str, Any]) -> tuple[Step, type[BaseModel]] | None:
    response_format = body.get("response_format") or {}
    name = (response_format.get("json_schema") or {}).get("name")
    if name in CONTRACTS:
        return CONTRACTS[name]
    found = _TITLE.search(prompt_text(body))
    return CONTRACTS[found.group(1)] if found else None


def _first(pattern: re.Pattern[str], text: str, default: str) -> str:
    found = pattern.search(text)
    return found.group(1).strip() if found else default


def answer_content(body: dict[str, Any]) -> str:
    """What a well-behaved model answers: the requested contract, drafted from the prompt."""
    requested = requested_contract(body)
    if requested is None:
        return "The conversation so far, in short: a documentation package is being written."
    step, contract = requested
    text = prompt_text(body)
    brief = StepBrief(
        step=step,
        project_name=_first(_PROJECT, text, "PlotPal"),
        idea=_first(_IDEA, text, "A mobile app for community gardens to share tools."),
        constraints=_first(_CONSTRAINTS, text, ""),
    )
    return draft_contract(brief, contract).model_dump_json()


def completion(body: dict[str, Any], content: str, number: int) -> dict[str, Any]:
    prompt_tokens = max(1, len(prompt_text(body)) // _CHARACTERS_PER_TOKEN)
    completion_tokens = max(1, len(content) // _CHARACTERS_PER_TOKEN)
    return {
        "id": f"chatcmpl-fake-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake-model"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def error_body(message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "code": code}}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path != CHAT_PATH:
            self.send_json(404, error_body(f"no route {self.path}", "not_found"))
            return
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            self.send_json(400, error_body("the body is not JSON", "invalid_json"))
            return
        fake.handle(self, body)

    def send_json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self.send_bytes(status, json.dumps(payload).encode(), "application/json", headers or {})

    def send_bytes(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str]
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeOpenAIServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class FakeOpenAIServer:
    """An OpenAI-compatible server on a free loopback port; use as a context manager."""

    def __init__(self, *, api_key: str | None = None, reject_json_schema: bool = False) -> None:
        self.api_key = api_key
        self.reject_json_schema = reject_json_schema
        self.requests: list[RecordedRequest] = []
        self._faults: collections.deque[Fault] = collections.deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL a client is configured with (ends in /v1)."""
        if self._server is None:
            raise RuntimeError("the fake OpenAI server is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def script(self, *faults: Fault) -> None:
        """Queue faults, one per coming chat request; afterwards it answers normally."""
        with self._lock:
            self._faults.extend(faults)

    def start(self) -> FakeOpenAIServer:
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- one request ----------------------------------------------------------------

    def handle(self, handler: _Handler, body: dict[str, Any]) -> None:
        headers = {name.lower(): value for name, value in handler.headers.items()}
        with self._lock:
            self.requests.append(RecordedRequest(handler.path, headers, body))
            number = len(self.requests)
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            message = "Incorrect API key provided."
            handler.send_json(401, error_body(message, "invalid_api_key"))
            return
        response_format = body.get("response_format") or {}
        if self.reject_json_schema and response_format.get("type") == "json_schema":
            message = "response_format.type 'json_schema' is not supported; use 'json_object'"
            handler.send_json(400, error_body(message, "unsupported_response_format"))
            return
        fault = self._next_fault()
        if fault is None:
            handler.send_json(200, completion(body, answer_content(body), number))
            return
        self._inject(handler, fault, body, number)

    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _inject(self, handler: _Handler, fault: Fault, body: dict[str, Any], number: int) -> None:
        if fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            handler.send_json(fault.status, error_body(fault.message, "injected"), headers)
        elif fault.kind == "slow":
            self._stopping.wait(fault.delay_s)
            handler.send_json(200, completion(body, answer_content(body), number))
        elif fault.kind == "malformed":
            truncated = answer_content(body)[:40]
            handler.send_json(200, completion(body, truncated, number))
        elif fault.kind == "content":
            handler.send_json(200, completion(body, fault.content, number))
        else:
            page = b"<html><body>It works!</body></html>"
            handler.send_bytes(200, page, "text/html", {})
