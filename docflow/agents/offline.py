"""The deterministic offline writer: a CrewAI LLM that drafts contracts without any model.

CrewAI runs it like any other LLM. With ``output_pydantic`` on the task and no tools, the
agent executor passes ``response_model=<the contract class>`` and uses a returned model
instance as the answer, so the writer never reads the prompt: it is built with the
StepBrief and drafts the requested contract from the idea itself (``drafting``). Same
brief, same contract, byte for byte. It says plainly that no LLM was involved.
"""

from __future__ import annotations

import time
from typing import Any

from crewai import BaseLLM
from pydantic import BaseModel

from docflow.agents.contracts import CONTRACT_FOR_STEP
from docflow.agents.drafting import draft_contract
from docflow.contracts import StepBrief

OFFLINE_MODEL = "docflow-offline-writer/1"
OFFLINE_WRITER_LABEL = f"{OFFLINE_MODEL} (deterministic, offline; no LLM)"
_CHARACTERS_PER_TOKEN = 4


class OfflineWriter(BaseLLM):
    """Drafts the contract CrewAI asks for from the brief it was built with."""

    brief: StepBrief
    latency_ms: int = 0

    @classmethod
    def for_brief(cls, brief: StepBrief, latency_ms: int = 0) -> OfflineWriter:
        return cls(model=OFFLINE_MODEL, provider="docflow", brief=brief, latency_ms=latency_ms)

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
        if self.latency_ms > 0:
            time.sleep(self.latency_ms / 1000)
        contract = draft_contract(self.brief, response_model or CONTRACT_FOR_STEP[self.brief.step])
        if response_model is not None:
            return contract
        # Without a response model CrewAI parses a ReAct-style answer and converts the JSON.
        return f"Thought: The document is drafted.\nFinal Answer: {contract.model_dump_json()}"

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
        return self.call(
            messages, tools, callbacks, available_functions, from_task, from_agent, response_model
        )

    def supports_function_calling(self) -> bool:
        return False

    def supports_stop_words(self) -> bool:
        return False

    def get_context_window_size(self) -> int:
        # Upstream documents make long prompts; the writer never reads them, so CrewAI must
        # not summarise them away (its default window is 4,096 tokens).
        return 1_000_000

    def get_input_tokens_count(
        self, messages: Any, tools: Any = None, response_model: Any = None
    ) -> int:
        text = messages if isinstance(messages, str) else str(messages)
        return len(text) // _CHARACTERS_PER_TOKEN
