"""The CrewAI adapter: a ``Writer`` that runs the step's role as a CrewAI Agent and Task.

One Agent and one Task per section, on ``StructuredChat`` (any OpenAI-compatible
endpoint) wrapped as a CrewAI ``BaseLLM``. Every CrewAI hook docflow relies on lives in
this file:
- the task sets ``response_model`` (and ``output_pydantic``), so CrewAI passes the section
  contract to the LLM and does not append its own pretty-printed copy of the schema to
  the prompt (``build_task_prompt_with_schema`` skips it when ``response_model`` is set);
- ``respect_context_window=False``: CrewAI never summarises the conversation with extra
  LLM calls; a prompt that is too long is our error, with a clear message;
- ``max_retry_limit=0`` and the ``_crewai_rate_limit_wrapped`` mark: Temporal is the only
  retry layer;
- tokens come from our own client, not CrewAI's counters;
- CrewAI's named locks are file locks whatever ``REDIS_URL`` says (``set_lock_backend``):
  with ``REDIS_URL`` set it takes portalocker's Redis lock, whose watchdog thread calls
  ``_thread.interrupt_main()`` when the connection drops, and a Valkey outage stopped the
  worker as if Ctrl-C had been pressed.

This module is the only one that imports CrewAI (2.4 s, 1 GB); the API process never
imports it. CrewAI's telemetry, tracing prompt and version check are off by default
(``setdefault``: the environment still wins); OTEL_SDK_DISABLED is left alone.
"""

from __future__ import annotations

import os

from docflow.agents import CREWAI_ENV_DEFAULTS

for _name, _value in CREWAI_ENV_DEFAULTS.items():
    os.environ.setdefault(_name, _value)

import asyncio  # noqa: E402
import hashlib  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from concurrent.futures import Future  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, TypeVar  # noqa: E402

import portalocker  # noqa: E402
from crewai import Agent, BaseLLM, Crew, CrewOutput, Process, Task  # noqa: E402
from crewai_core.lock_store import set_lock_backend  # noqa: E402
from pydantic import BaseModel, PrivateAttr  # noqa: E402

from docflow.agents.errors import MalformedReplyError, WriterError  # noqa: E402
from docflow.agents.openai_chat import StructuredChat  # noqa: E402
from docflow.agents.prompts import role_of, section_request, step_context  # noqa: E402
from docflow.agents.writer import M, SectionBrief, TextSink, Usage, Written  # noqa: E402
from docflow.contracts import STEP_AGENT  # noqa: E402

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def file_lock(name: str, *, timeout: float) -> Iterator[None]:
    """A CrewAI named lock as a file lock in the temp folder (CrewAI's own fallback)."""
    digest = hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()
    path = Path(tempfile.gettempdir()) / f"crewai-{digest}.lock"
    with portalocker.Lock(str(path), timeout=timeout):
        yield


set_lock_backend(file_lock)


def _without_crewai_retry(method: F) -> F:
    """Keep CrewAI from wrapping ``method`` in its own 3-try rate-limit retry.

    ``BaseLLM.__init_subclass__`` wraps a subclass's ``call``/``acall`` unless the method
    is already marked as wrapped. Temporal is our only retry layer.
    """
    vars(method)["_crewai_rate_limit_wrapped"] = True
    return method


class SectionLLM(BaseLLM):
    """One section's LLM as CrewAI sees it: the contract in, an instance of it out.

    CrewAI's ``akickoff`` runs the crew in a thread of its own and calls the synchronous
    ``call`` there; the request itself runs on the activity's event loop (``loop``), so
    its streamed text reaches the activity's Redis client and a cancelled activity closes
    it (``CrewWriter.write`` cancels what is pending).
    """

    llm_type: str = "openai-compatible"
    provider: str = "openai-compatible"
    _chat: StructuredChat = PrivateAttr()
    _loop: asyncio.AbstractEventLoop = PrivateAttr()
    _max_tokens: int = PrivateAttr(default=1024)
    _on_text: TextSink | None = PrivateAttr(default=None)
    _usage: Usage = PrivateAttr(default_factory=Usage)
    _pending: set[Future[BaseModel]] = PrivateAttr(default_factory=set)

    @classmethod
    def for_call(
        cls,
        chat: StructuredChat,
        max_tokens: int,
        on_text: TextSink | None,
        loop: asyncio.AbstractEventLoop,
    ) -> SectionLLM:
        llm = cls(model=chat.endpoint.model)
        llm._chat, llm._max_tokens, llm._on_text, llm._loop = chat, max_tokens, on_text, loop
        return llm

    @property
    def usage(self) -> Usage:
        return self._usage

    def cancel_pending(self) -> None:
        for future in list(self._pending):
            future.cancel()

    async def _ask(self, messages: Any, response_model: type[BaseModel] | None) -> BaseModel:
        if response_model is None:
            raise MalformedReplyError("CrewAI asked for text instead of the section contract")
        conversation = [{"role": "user", "content": messages}] if isinstance(messages, str) \
            else [dict(m) for m in messages]  # fmt: skip
        try:
            answer, usage = await self._chat.ask(
                conversation, response_model, self._max_tokens, self._on_text
            )
        except WriterError as error:
            self._usage = self._usage + error.usage
            raise
        self._usage = self._usage + usage
        return answer

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
        if asyncio.get_running_loop() is self._loop:
            return await self._ask(messages, response_model)
        return await asyncio.wrap_future(self._submit(messages, response_model))

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
        """From CrewAI's thread: the request on the activity's loop, waited for here."""
        return self._submit(messages, response_model).result()

    def _submit(self, messages: Any, response_model: type[BaseModel] | None) -> Future[BaseModel]:
        future = asyncio.run_coroutine_threadsafe(self._ask(messages, response_model), self._loop)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        return future

    def supports_function_calling(self) -> bool:
        return False

    def supports_stop_words(self) -> bool:
        return False


class CrewWriter:
    """A ``Writer`` on an OpenAI-compatible endpoint, through CrewAI's Agent and Task."""

    def __init__(self, chat: StructuredChat, concurrency: int, upstream_chars: int) -> None:
        self._chat = chat
        self._concurrency = concurrency
        self._upstream_chars = upstream_chars

    @property
    def label(self) -> str:
        return self._chat.endpoint.model

    @property
    def concurrency(self) -> int:
        return self._concurrency

    async def write(
        self, brief: SectionBrief, contract: type[M], on_text: TextSink | None = None
    ) -> Written[M]:
        loop = asyncio.get_running_loop()
        llm = SectionLLM.for_call(self._chat, brief.call.max_tokens, on_text, loop)
        step = brief.brief.step
        role = role_of(step)
        agent = Agent(
            role=STEP_AGENT[step],
            goal=role.goal,
            backstory=role.backstory,
            llm=llm,
            allow_delegation=False,
            memory=False,
            verbose=False,
            max_retry_limit=0,
            respect_context_window=False,
        )
        task = Task(
            description=f"{step_context(brief.brief, self._upstream_chars)}\n\n"
            f"{section_request(brief)}",
            expected_output=f"One {contract.__name__} JSON object.",
            agent=agent,
            response_model=contract,
            output_pydantic=contract,
        )
        crew = Crew(agents=[agent], tasks=[task], process=Process.sequential, memory=False,
                    verbose=False, tracing=False)  # fmt: skip
        try:
            result = await crew.akickoff()
        except asyncio.CancelledError:
            llm.cancel_pending()  # the request closes: the server stops generating
            raise
        answer = result.pydantic if isinstance(result, CrewOutput) else None
        if not isinstance(answer, contract):
            raise MalformedReplyError(f"{self.label} did not return a {contract.__name__}")
        return Written(contract=answer, usage=llm.usage)
