"""The one place that decides which writer writes a step, from settings.

``offline`` (the default) is the deterministic offline writer; ``openai`` is any
OpenAI-compatible endpoint through the CrewAI adapter; ``local`` is the same against the
llama.cpp server ``docflow.embedded`` starts for a GGUF file. CrewAI is imported only
when a model writes.
"""

from __future__ import annotations

from docflow.agents.breaker import breaker_for
from docflow.agents.context import remember_context
from docflow.agents.errors import WriterConfigError
from docflow.agents.openai_chat import ChatEndpoint, StructuredChat, validated_base_url
from docflow.agents.writer import Writer
from docflow.contracts import STEP_AGENT, Step
from docflow.offline.writer import OfflineWriter
from docflow.settings import Settings


def model_for_step(settings: Settings, step: Step) -> str:
    """The step's model: ``llm_models_by_role`` by step or agent name, else ``llm_model``."""
    mapping = settings.llm_models_by_role
    known = {s.value for s in Step} | set(STEP_AGENT.values())
    unknown = sorted(set(mapping) - known)
    if unknown:
        raise WriterConfigError(
            f"DOCFLOW_LLM_MODELS_BY_ROLE names unknown roles {unknown}: use step names "
            f"{sorted(s.value for s in Step)} or agent names {sorted(STEP_AGENT.values())}"
        )
    return mapping.get(step.value) or mapping.get(STEP_AGENT[step]) or _default_model(settings)


def _default_model(settings: Settings) -> str:
    """``llm_model``; for a local GGUF file served by docflow, the file's name."""
    if settings.llm_provider == "local" and settings.llm_model_path is not None:
        return settings.llm_model_path.stem
    return settings.llm_model


def structured_chat(settings: Settings, step: Step) -> StructuredChat:
    if settings.llm_provider == "local" and not settings.llm_base_url:
        raise WriterConfigError(
            "DOCFLOW_LLM_PROVIDER=local needs the llama.cpp server that docflow dev starts "
            "for DOCFLOW_LLM_MODEL_PATH; set DOCFLOW_LLM_BASE_URL for a server of your own"
        )
    base_url = validated_base_url(settings.llm_base_url)
    model = model_for_step(settings, step)
    if settings.llm_provider == "local" and settings.llm_model_path is not None:
        # the server docflow starts for the file: its context is known (a server's own
        # refusal naming another size still corrects it, docflow.agents.context)
        remember_context(base_url, model, settings.llm_context_size)
    endpoint = ChatEndpoint(
        base_url=base_url,
        model=model,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        breaker=breaker_for(
            base_url, model, settings.llm_breaker_failures, settings.llm_breaker_reset_s
        ),
        stream=settings.llm_stream,
        connect_timeout_s=settings.llm_connect_timeout_s,
        first_token_timeout_s=settings.llm_first_token_timeout_s,
        idle_timeout_s=settings.llm_idle_timeout_s,
        temperature=settings.llm_temperature,
    )
    return StructuredChat(endpoint, repair_attempts=settings.llm_json_repair_attempts)


def select_writer(settings: Settings, step: Step) -> Writer:
    if settings.llm_provider == "offline":
        return OfflineWriter(settings.llm_offline_latency_ms)
    from docflow.agents.crew import CrewWriter  # CrewAI only when a model writes

    chat = structured_chat(settings, step)
    return CrewWriter(chat, settings.llm_concurrency, settings.llm_upstream_chars)
