"""The OpenAI-compatible client and the CrewAI adapter against a real local HTTP server.

``FakeOpenAIServer`` speaks the chat completions protocol (streamed or not) on 127.0.0.1;
the faults a real server shows are scripted per request: a 500 that refuses
``json_schema`` (llama.cpp), a reply cut mid-JSON, a stall mid-stream, throttling.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from docflow.agents.breaker import (
    BreakerState,
    CircuitBreaker,
    CircuitOpenError,
    breaker_for,
    reset_breakers,
)
from docflow.agents.compose import MemoryStore, StepComposer
from docflow.agents.context import estimated_prompt_tokens
from docflow.agents.errors import (
    LLMRequestError,
    LLMStalledError,
    LLMUnavailableError,
    MalformedReplyError,
    WriterConfigError,
)
from docflow.agents.openai_chat import (
    StructuredChat,
    contract_schema,
    forget_endpoints,
    parse_contract,
    parse_retry_after,
    schema_instruction,
)
from docflow.agents.sections import section_contract
from docflow.agents.writers import model_for_step, select_writer, structured_chat
from docflow.contracts import Step, StepBrief
from docflow.settings import Settings
from tests.fakes.openai_server import FakeOpenAIServer, Fault, answer_content

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:crewai")

MODEL = "fake-model"
BRIEF = StepBrief(
    step=Step.DESCRIPTION,
    project_name="PlotPal",
    idea="A mobile app for community gardens to share tools and schedule plots.",
    constraints="Two developers, three months.",
)
GOALS = section_contract(Step.DESCRIPTION, "goals")
PROMPT = (
    "You are writing the description of the project \u201cPlotPal\u201d for its documentation "
    "package, one section at a time.\n\n## Idea\n\nA mobile app for community gardens.\n\n"
    "## Constraints\n\nTwo developers.\n\n## Accepted upstream documents\n\nNone."
)
MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "You are Business Analyst."},
    {"role": "user", "content": f"{PROMPT}\n\nSection key: goals\n\nWrite the goals."},
]


@pytest.fixture(autouse=True)
def fresh_process_state() -> Iterator[None]:
    reset_breakers()
    forget_endpoints()
    yield
    reset_breakers()
    forget_endpoints()


@pytest.fixture
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(api_key="sk-test") as server:
        yield server


def settings_for(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "llm_provider": "openai",
        "llm_base_url": url,
        "llm_api_key": SecretStr("sk-test"),
        "llm_model": MODEL,
        "llm_first_token_timeout_s": 5.0,
        "llm_idle_timeout_s": 5.0,
        **overrides,
    }
    return Settings.model_validate(values)


def chat_for(url: str, **overrides: Any) -> StructuredChat:
    return structured_chat(settings_for(url, **overrides), Step.DESCRIPTION)


def ask(chat: StructuredChat, contract: type[BaseModel] = GOALS) -> tuple[BaseModel, Any]:
    return asyncio.run(chat.ask(MESSAGES, contract, 256, None))


# --- structured output, streamed --------------------------------------------------------


def test_a_streamed_reply_is_validated_into_the_section_contract(fake: FakeOpenAIServer) -> None:
    texts: list[str] = []

    async def on_text(text: str) -> None:
        texts.append(text)

    answer, usage = asyncio.run(chat_for(fake.url).ask(MESSAGES, GOALS, 256, on_text))

    assert isinstance(answer, GOALS) and answer.goals  # type: ignore[attr-defined]
    request = fake.requests[0]
    assert request.body["stream"] is True and request.body["max_tokens"] == 256
    assert request.response_format == "json_schema"
    assert request.body["response_format"]["json_schema"]["name"] == "AboutGoals"
    assert len(texts) > 2 and texts[-1] == answer.model_dump_json()  # the draft grew
    assert usage.tokens_in > 0 and usage.tokens_out == len(texts[-1]) // 4


def test_without_streaming_the_whole_reply_is_read(fake: FakeOpenAIServer) -> None:
    answer, usage = ask(chat_for(fake.url, llm_stream=False))

    assert fake.requests[0].body["stream"] is False
    assert isinstance(answer, GOALS) and usage.tokens_out > 0


def test_a_500_refusing_json_schema_falls_back_to_json_object_and_is_remembered() -> None:
    with FakeOpenAIServer(reject_json_schema=True) as server:
        ask(chat_for(server.url))
        ask(chat_for(server.url))
        formats = [request.response_format for request in server.requests]
        second = server.requests[1].body

    assert formats == ["json_schema", "json_object", "json_object"]
    assert second["response_format"]["schema"]["properties"].keys() == {"goals", "non_goals"}
    last = second["messages"][-1]["content"]
    assert "JSON object (AboutGoals)" in last  # the schema once, at the end of the prompt
    assert second["messages"][0] == MESSAGES[0]  # the stable prefix is untouched


def test_a_reply_cut_mid_json_gets_one_repair_re_ask(fake: FakeOpenAIServer) -> None:
    fake.script(Fault.malformed())
    answer, usage = ask(chat_for(fake.url))

    assert isinstance(answer, GOALS) and len(fake.requests) == 2
    repair = fake.requests[1].messages[-1]["content"]
    assert "ran out of tokens" in repair and "AboutGoals" in repair
    assert usage.tokens_out > 10  # both replies counted


def test_replies_that_stay_malformed_are_retryable_and_counted(fake: FakeOpenAIServer) -> None:
    fake.script(Fault.malformed(), Fault.reply('{"goals": "not a list"}'))
    with pytest.raises(MalformedReplyError, match="did not fill AboutGoals in 2 replies") as e:
        ask(chat_for(fake.url))
    assert e.value.retryable and e.value.usage.tokens_out > 0


def test_the_schema_keeps_a_property_called_title_and_closes_every_object() -> None:
    schema = contract_schema(section_contract(Step.ARCHITECTURE, "decision"))
    assert "title" in schema["properties"] and "title" in schema["required"]
    assert schema["additionalProperties"] is False
    option = schema["properties"]["options"]["items"]
    assert option["required"] == ["name", "pros", "cons"] and "$ref" not in str(schema)


def test_the_prompt_shows_the_contract_as_a_short_json_shape() -> None:
    instruction = schema_instruction(section_contract(Step.DESCRIPTION, "features"))
    shape = '{"features":[{"name":"string","description":"string","priority":"must|should|could"}]}'
    assert instruction.endswith(shape)


def test_fenced_json_is_accepted() -> None:
    body = {"messages": MESSAGES, "response_format": {"json_schema": {"name": "AboutGoals"}}}
    content = answer_content(body)
    fenced = f"```json\n{content}\n```"
    assert parse_contract(fenced, GOALS) == GOALS.model_validate_json(content)


# --- time spent on purpose ----------------------------------------------------------------


def test_a_stall_mid_stream_closes_the_request_after_the_idle_timeout(
    fake: FakeOpenAIServer,
) -> None:
    fake.script(Fault.stall(30.0))
    started = time.monotonic()
    with pytest.raises(LLMStalledError, match=r"no new token for 0\.5 s") as caught:
        ask(chat_for(fake.url, llm_idle_timeout_s=0.5))
    assert time.monotonic() - started < 5
    assert caught.value.retryable and caught.value.usage.tokens_out > 0


def test_no_first_token_in_time_is_retryable(fake: FakeOpenAIServer) -> None:
    fake.script(Fault.slow(30.0))
    with pytest.raises(LLMStalledError, match=r"within 0\.5 s"):
        ask(chat_for(fake.url, llm_first_token_timeout_s=0.5))


def test_an_unreachable_server_is_retryable() -> None:
    with pytest.raises(LLMUnavailableError, match="unreachable") as caught:
        ask(chat_for("http://127.0.0.1:9/v1"))
    assert caught.value.retryable


# --- error classes ------------------------------------------------------------------------


def test_429_is_retryable_and_carries_retry_after(fake: FakeOpenAIServer) -> None:
    fake.script(Fault.rate_limited("7"))
    with pytest.raises(LLMUnavailableError, match="HTTP 429, Retry-After 7 s") as caught:
        ask(chat_for(fake.url))
    assert caught.value.retryable and caught.value.retry_after_s == 7


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_retryable(fake: FakeOpenAIServer, status: int) -> None:
    fake.script(Fault.server_error(status))
    with pytest.raises(LLMUnavailableError, match=f"HTTP {status}"):
        ask(chat_for(fake.url))


@pytest.mark.parametrize(
    ("status", "hint"),
    [(401, "DOCFLOW_LLM_API_KEY"), (403, "may not use"), (404, "DOCFLOW_LLM_BASE_URL")],
)
def test_client_errors_are_not_retryable(fake: FakeOpenAIServer, status: int, hint: str) -> None:
    fake.script(Fault.status_error(status))
    with pytest.raises(LLMRequestError, match=hint) as caught:
        ask(chat_for(fake.url))
    assert not caught.value.retryable


def test_a_prompt_beyond_the_context_is_a_clear_final_error(fake: FakeOpenAIServer) -> None:
    fake.script(Fault.status_error(400, "Requested tokens (9000) exceed context window of 8192"))
    with pytest.raises(LLMRequestError, match="longer than the context") as caught:
        ask(chat_for(fake.url))
    assert not caught.value.retryable


def test_a_context_the_server_lists_shortens_max_tokens_before_the_first_request() -> None:
    context = estimated_prompt_tokens(MESSAGES) + 200
    with FakeOpenAIServer(context_tokens=context, advertise_context=True) as server:
        answer, _ = ask(chat_for(server.url))

        assert [request.body["max_tokens"] for request in server.requests] == [200]
    assert isinstance(answer, GOALS)


def test_a_context_named_in_a_refusal_is_learnt_and_the_request_refitted_once() -> None:
    context = estimated_prompt_tokens(MESSAGES) + 200
    with FakeOpenAIServer(context_tokens=context) as server:
        answer, _ = ask(chat_for(server.url))
        ask(chat_for(server.url))  # learnt: the next section is fitted at once

        assert [request.body["max_tokens"] for request in server.requests] == [256, 200, 200]
    assert isinstance(answer, GOALS)


def test_a_prompt_too_long_for_the_learnt_context_is_refused_before_sending() -> None:
    with FakeOpenAIServer(context_tokens=100, advertise_context=True) as server:
        with pytest.raises(LLMRequestError, match="leaves no room") as caught:
            ask(chat_for(server.url))

        assert server.requests == []  # nothing sent that the server must refuse
    assert not caught.value.retryable


def test_a_page_that_is_not_a_chat_completion_is_not_retryable(fake: FakeOpenAIServer) -> None:
    fake.script(Fault.not_a_completion())
    with pytest.raises(LLMRequestError, match="not a chat completion"):
        ask(chat_for(fake.url))


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("3") == 3
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 1445412470.0) == 10
    assert parse_retry_after("99999") == 300  # capped
    assert parse_retry_after("soon") is None


def test_models_by_role_by_step_or_agent_name() -> None:
    settings = Settings(llm_models_by_role={"architecture": "big", "Project Planner": "mid"})
    assert model_for_step(settings, Step.ARCHITECTURE) == "big"
    assert model_for_step(settings, Step.PLAN) == "mid"
    assert model_for_step(settings, Step.STANDARDS) == settings.llm_model


def test_unknown_roles_and_bad_urls_are_configuration_errors() -> None:
    with pytest.raises(WriterConfigError, match="unknown roles"):
        model_for_step(Settings(llm_models_by_role={"poet": "x"}), Step.PLAN)
    with pytest.raises(WriterConfigError, match="http"):
        chat_for("ftp://example.test/v1")


# --- through CrewAI, section by section -----------------------------------------------------


def test_a_step_through_crewai_writes_every_section_with_its_own_contract(
    fake: FakeOpenAIServer,
) -> None:
    settings = settings_for(fake.url)
    writer = select_writer(settings, Step.DESCRIPTION)
    writing = asyncio.run(StepComposer(BRIEF, writer, MemoryStore()).write(date(2026, 1, 15)))

    names = [r.body["response_format"]["json_schema"]["name"] for r in fake.requests]
    assert sorted(names) == sorted(
        ["AboutOverview", "AboutUsers", "AboutGoals", "AboutFeatures",
         "AboutQualityRequirements", "AboutConstraints", "AboutQuestions", "AboutMetrics"]
    )  # fmt: skip
    prompts = [r.messages[-1]["content"] for r in fake.requests]
    assert not any('"properties"' in prompt for prompt in prompts)  # no schema copy by CrewAI
    assert writing.writer == MODEL and writing.tokens_out > 0
    assert writing.documents[0].path == "docs/about.md"


def test_a_crash_mid_step_resumes_without_rewriting_finished_sections(
    fake: FakeOpenAIServer,
) -> None:
    settings = settings_for(fake.url, llm_concurrency=1)
    store = MemoryStore()
    fake.script(Fault.normal(), Fault.normal(), Fault.normal(), Fault.server_error())
    first = StepComposer(BRIEF, select_writer(settings, Step.DESCRIPTION), store)
    with pytest.raises(LLMUnavailableError) as caught:
        asyncio.run(first.write(date(2026, 1, 15)))
    assert caught.value.section is not None and caught.value.section not in store.sections
    assert len(store.sections) == 3
    asked_before = len(fake.requests)

    second = StepComposer(BRIEF, select_writer(settings, Step.DESCRIPTION), store)
    writing = asyncio.run(second.write(date(2026, 1, 15)))

    assert second.resumed == 3
    assert len(fake.requests) - asked_before == 8 - 3  # only the unwritten sections
    assert writing.documents[0].path == "docs/about.md"


# --- the circuit breaker -------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_n_consecutive_failures_and_fails_fast() -> None:
    clock = Clock()
    breaker = CircuitBreaker("m at u", failure_threshold=3, reset_after_s=10, clock=clock)
    for _ in range(2):
        breaker.before_call()
        breaker.record_failure()
    breaker.before_call()
    breaker.record_success()  # a success resets the count
    for _ in range(3):
        breaker.before_call()
        breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.now += 4
    with pytest.raises(CircuitOpenError, match="circuit breaker open for m at u") as caught:
        breaker.before_call()
    assert caught.value.retry_after_s == pytest.approx(6.0)


def test_half_open_lets_one_trial_through_and_its_outcome_decides() -> None:
    clock = Clock()
    breaker = CircuitBreaker("b", failure_threshold=1, reset_after_s=10, clock=clock)
    breaker.before_call()
    breaker.record_failure()
    clock.now += 10
    states = [breaker.state]
    breaker.before_call()  # the trial
    with pytest.raises(CircuitOpenError):
        breaker.before_call()  # everyone else still fails fast
    breaker.record_failure()
    states.append(breaker.state)  # a failed trial opens it again
    clock.now += 10
    breaker.before_call()
    breaker.record_success()
    states.append(breaker.state)
    assert states == [BreakerState.HALF_OPEN, BreakerState.OPEN, BreakerState.CLOSED]
    breaker.before_call()


def test_breaker_counts_failures_from_many_threads_exactly() -> None:
    breaker = CircuitBreaker("threads", failure_threshold=1000, reset_after_s=10)

    def fail_many() -> None:
        for _ in range(100):
            breaker.record_failure()

    threads = [threading.Thread(target=fail_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert breaker.consecutive_failures == 800
    assert breaker.state is BreakerState.CLOSED


def test_breakers_are_per_base_url_and_model_and_process_wide() -> None:
    first = breaker_for("http://a/v1/", "m", 5, 30)
    assert breaker_for("http://a/v1", "m", 2, 10) is first
    assert breaker_for("http://a/v1", "other", 5, 30) is not first
    assert breaker_for("http://b/v1", "m", 5, 30) is not first


def test_the_provider_breaker_opens_and_fails_fast_without_calling(
    fake: FakeOpenAIServer,
) -> None:
    fake.script(Fault.server_error(), Fault.slow(5.0))
    settings = {"llm_breaker_failures": 2, "llm_breaker_reset_s": 60.0,
                "llm_first_token_timeout_s": 0.3}  # fmt: skip
    for _ in range(2):
        with pytest.raises(LLMUnavailableError, match=r"HTTP 500|within 0\.3 s"):
            ask(chat_for(fake.url, **settings))
    with pytest.raises(LLMUnavailableError, match="circuit breaker open") as caught:
        ask(chat_for(fake.url, **settings))
    assert caught.value.retryable and caught.value.retry_after_s is not None
    assert 59 < caught.value.retry_after_s <= 60
    assert len(fake.requests) == 2  # the third call never reached the server


def test_client_errors_do_not_open_the_breaker(fake: FakeOpenAIServer) -> None:
    settings = {"llm_breaker_failures": 1, "llm_api_key": SecretStr("sk-wrong")}
    for _ in range(3):
        with pytest.raises(LLMRequestError):
            ask(chat_for(fake.url, **settings))
    assert len(fake.requests) == 3
