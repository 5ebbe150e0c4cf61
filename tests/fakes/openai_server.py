"""A real OpenAI-compatible chat completions server for tests, scripted per test.

``FakeOpenAIServer`` serves ``POST /v1/chat/completions`` over HTTP on 127.0.0.1 (a free
port) from a thread of the test process. By default it answers like a model that follows
the requested schema: it finds which section contract the request asks for (the
``json_schema`` name, or the contract named in the prompt when the client fell back to
``json_object`` or plain JSON) and answers it with the offline writer's answer for the
project, idea and section key in the prompt, with a ``usage`` block. With ``stream: true``
it answers as Server-Sent Events, a chunk per few characters, usage in the last chunk.
Tests script faults, consumed one per chat request in order: ``Fault.status`` (429 with
Retry-After, 500, 401, ...), ``Fault.slow`` (answers after the client gave up),
``Fault.malformed`` (the reply cut mid-JSON, finish_reason "length"), ``Fault.stall``
(streams part of the reply, then nothing), ``Fault.content`` (any content) and
``Fault.not_a_completion`` (HTTP 200 with an HTML page). ``reject_json_schema=True``
makes it refuse every ``json_schema`` request with HTTP 500 and a validation message, as
llama.cpp's server does; an ``api_key`` makes it answer 401 to any other bearer token.
``context_tokens`` gives it a context: a request whose prompt (four characters a token)
and ``max_tokens`` exceed it is refused with HTTP 400 as vLLM words it, and
``advertise_context=True`` lists the size in ``GET /v1/models`` (``max_model_len``).
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

from docflow.agents.sections import SectionCall, contract_by_name
from docflow.agents.writer import SectionBrief
from docflow.contracts import ClarifyingAnswer, RenderedDocument, Step, StepBrief
from docflow.offline.writer import offline_answer

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
_NAMED = re.compile(r"JSON object \((\w+)\)")
_KEY = re.compile(r"^Section key: (\S+)$", re.MULTILINE)
_STREAM_CHUNK = 24
_PROJECT = re.compile(r"of the project \u201c(.+?)\u201d")
_IDEA = re.compile(r"## Idea\n\n(.*?)\n\n## Constraints", re.DOTALL)
_CONSTRAINTS = re.compile(r"## Constraints\n\n(.*?)\n\n## ", re.DOTALL)
_CHARACTERS_PER_TOKEN = 4
# The accepted description as the prompt carries it (docflow.agents.prompts.step_context).
_ABOUT = re.compile(
    r"^### docs/about\.md\n\n(.*?)(?=\n### docs/|\n## Relevant passages)", re.DOTALL | re.MULTILINE
)
_ANSWER = re.compile(r"^- (Q-\d{3}) \((.+?)\): (.+)$", re.MULTILINE)

FaultKind = Literal["normal", "status", "slow", "malformed", "stall", "content", "not_a_completion"]


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
    def normal(cls) -> Fault:
        """No fault: answer this request as usual (to fail a later one)."""
        return cls("normal")

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
    def stall(cls, delay_s: float) -> Fault:
        """Stream the first chunks of the reply, then send nothing for ``delay_s``."""
        return cls("stall", delay_s=delay_s)

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


def requested_contract(body: dict[str, Any]) -> tuple[Step, str, type[BaseModel]] | None:
    """(step, section id, contract) the request asks for, or None for a text request."""
    response_format = body.get("response_format") or {}
    name = (response_format.get("json_schema") or {}).get("name")
    if name is None:
        found = _NAMED.search(prompt_text(body))
        name = found.group(1) if found else None
    return contract_by_name(name) if name else None


def _first(pattern: re.Pattern[str], text: str, default: str) -> str:
    found = pattern.search(text)
    return found.group(1).strip() if found else default


def answer_content(body: dict[str, Any]) -> str:
    """What a well-behaved model answers: the requested contract, drafted from the prompt."""
    requested = requested_contract(body)
    if requested is None:
        return "The conversation so far, in short: a documentation package is being written."
    step, section_id, contract = requested
    text = prompt_text(body)
    brief = StepBrief(
        step=step,
        project_name=_first(_PROJECT, text, "PlotPal"),
        idea=_first(_IDEA, text, "A mobile app for community gardens to share tools."),
        constraints=_first(_CONSTRAINTS, text, ""),
        upstream=[RenderedDocument(path="docs/about.md", kind="about", title="", content_md=about)
                  for about in _ABOUT.findall(text)[:1]],
        answers=[ClarifyingAnswer(question_id=q, question=question, answer=answer)
                 for q, question, answer in _ANSWER.findall(text)],
    )  # fmt: skip
    key = _first(_KEY, text, section_id)
    item = int(key.split("/")[1]) if "/" in key else None
    call = SectionCall(step=step, section=section_id, key=key, contract_name=contract.__name__,
                       ask="-" * 10, max_tokens=64, item=item)  # fmt: skip
    return offline_answer(SectionBrief(brief=brief, call=call), contract).model_dump_json()


def usage_of(body: dict[str, Any], content: str) -> dict[str, int]:
    prompt_tokens = max(1, len(prompt_text(body)) // _CHARACTERS_PER_TOKEN)
    completion_tokens = max(1, len(content) // _CHARACTERS_PER_TOKEN)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def chunk(body: dict[str, Any], delta: str, number: int, finish: str | None) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake-{number}",
        "object": "chat.completion.chunk",
        "model": body.get("model", "fake-model"),
        "choices": [{"index": 0, "delta": {"content": delta}, "finish_reason": finish}],
    }


def completion(
    body: dict[str, Any], content: str, number: int, finish: str = "stop"
) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake-model"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish,
            }
        ],
        "usage": usage_of(body, content),
    }


def error_body(message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "code": code}}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        fake = self.server.fake
        if self.path != MODELS_PATH:
            self.send_json(404, error_body(f"no route {self.path}", "not_found"))
            return
        entry: dict[str, Any] = {"id": "fake-model", "object": "model", "owned_by": "tests"}
        if fake.advertise_context and fake.context_tokens is not None:
            entry["max_model_len"] = fake.context_tokens
        self.send_json(200, {"object": "list", "data": [entry]})

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

    def stream_reply(
        self,
        body: dict[str, Any],
        content: str,
        number: int,
        finish: str = "stop",
        stall: tuple[int, threading.Event, float] | None = None,
    ) -> None:
        """The reply as Server-Sent Events; ``stall`` = (after chunks, stop event, seconds)."""
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            pieces = [content[i : i + _STREAM_CHUNK] for i in range(0, len(content), _STREAM_CHUNK)]
            for n, piece in enumerate(pieces):
                if stall is not None and n == stall[0]:
                    stall[1].wait(stall[2])
                    return
                self._event(chunk(body, piece, number, None))
            last = chunk(body, "", number, finish)
            last["usage"] = usage_of(body, content)
            self._event(last)
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client closed the stream (a stall test): nothing more to send
        self.close_connection = True

    def _event(self, payload: dict[str, Any]) -> None:
        self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
        self.wfile.flush()

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

    def __init__(
        self,
        *,
        api_key: str | None = None,
        reject_json_schema: bool = False,
        reject_schema_status: int = 500,
        context_tokens: int | None = None,
        advertise_context: bool = False,
    ) -> None:
        self.api_key = api_key
        self.context_tokens = context_tokens
        self.advertise_context = advertise_context
        self.reject_json_schema = reject_json_schema
        self.reject_schema_status = reject_schema_status
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
            message = (
                "1 validation error for CreateChatCompletionRequest\nresponse_format.type\n"
                "  Input should be 'text' or 'json_object' [type=literal_error]"
            )
            handler.send_json(self.reject_schema_status, error_body(message, "internal_error"))
            return
        requested = usage_of(body, "")["prompt_tokens"] + int(body.get("max_tokens") or 0)
        if self.context_tokens is not None and requested > self.context_tokens:
            message = (
                f"This model's maximum context length is {self.context_tokens} tokens. However, "
                f"you requested {requested} tokens. Please reduce the length of the messages "
                "or completion."
            )
            handler.send_json(400, error_body(message, "context_length_exceeded"))
            return
        fault = self._next_fault()
        if fault is None:
            self._answer(handler, body, answer_content(body), number)
            return
        self._inject(handler, fault, body, number)

    def _answer(
        self, handler: _Handler, body: dict[str, Any], content: str, number: int,
        finish: str = "stop",
    ) -> None:  # fmt: skip
        if body.get("stream"):
            handler.stream_reply(body, content, number, finish)
        else:
            handler.send_json(200, completion(body, content, number, finish))

    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _inject(self, handler: _Handler, fault: Fault, body: dict[str, Any], number: int) -> None:
        if fault.kind == "normal":
            self._answer(handler, body, answer_content(body), number)
        elif fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            handler.send_json(fault.status, error_body(fault.message, "injected"), headers)
        elif fault.kind == "slow":
            self._stopping.wait(fault.delay_s)
            self._answer(handler, body, answer_content(body), number)
        elif fault.kind == "malformed":
            self._answer(handler, body, answer_content(body)[:40], number, finish="length")
        elif fault.kind == "stall":
            stall = (2, self._stopping, fault.delay_s)
            handler.stream_reply(body, answer_content(body), number, stall=stall)
        elif fault.kind == "content":
            self._answer(handler, body, fault.content, number)
        else:
            page = b"<html><body>It works!</body></html>"
            handler.send_bytes(200, page, "text/html", {})
