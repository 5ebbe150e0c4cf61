"""The OpenAI-compatible CrewAI LLM and its circuit breaker, against a real local server.

``FakeOpenAIServer`` speaks HTTP on 127.0.0.1; nothing here is mocked below the socket.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from crewai.llms.retry import _ThrottlingErrorClassifier

from docflow.agents import crew
from docflow.agents.breaker import (
    BreakerState,
    CircuitBreaker,
    CircuitOpenError,
    breaker_for,
    reset_breakers,
)
from docflow.agents.contracts import ProjectDescription
from docflow.agents.openai_llm import (
    LLMOutputError,
    LLMRequestError,
    LLMUnavailableError,
    OpenAICompatibleLLM,
    forget_schema_support,
    model_for_step,
    parse_contract,
    parse_retry_after,
)
from docflow.contracts import Step, StepBrief
from docflow.settings import Settings
from tests.fakes.openai_server import FakeOpenAIServer, Fault, answer_content

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:crewai")

MODEL = "fake-model"
MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "You are Business Analyst."},
    {
        "role": "user",
        "content": "Write the description documents of the project \u201cPlotPal\u201d.\n\n"
        "## Idea\n\nA mobile app for community gardens.\n\n## Constraints\n\nTwo developers."
        "\n\n## Review feedback\n\nNone.",
    },
]
BRIEF = StepBrief(
    step=Step.DESCRIPTION,
    project_name="PlotPal",
    idea="A mobile app for community gardens to share tools and schedule plots.",
    constraints="Two developers, three months.",
)


@pytest.fixture(autouse=True)
def fresh_process_state() -> Iterator[None]:
    reset_breakers()
    forget_schema_support()
    yield
    reset_breakers()
    forget_schema_support()


@pytest.fixture
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(api_key="sk-test") as server:
        yield server


def settings_for(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "llm_provider": "openai",
        "llm_base_url": url,
        "llm_api_key": "sk-test",
        "llm_model": MODEL,
        "llm_timeout_s": 5.0,
        **overrides,
    }
    return Settings.model_validate(values)


def llm_for(url: str, **overrides: Any) -> OpenAICompatibleLLM:
    return OpenAICompatibleLLM.for_step(settings_for(url, **overrides), Step.DESCRIPTION)


def ask(llm: OpenAICompatibleLLM) -> Any:
    return llm.call(MESSAGES, response_model=ProjectDescription)


# --- structured output and tokens ------------------------------------------------------


def test_reply_is_validated_into_the_contract_with_json_schema(fake: FakeOpenAIServer) -> None:
    llm = llm_for(fake.url)
    result = ask(llm)
    assert isinstance(result, ProjectDescription)
    assert result.project_name == "PlotPal"
    [request] = fake.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.body["model"] == MODEL and request.body["stream"] is False
    response_format = request.body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "ProjectDescription"
    assert response_format["json_schema"]["strict"] is True
    assert response_format["json_schema"]["schema"]["additionalProperties"] is False


def test_tokens_in_and_out_come_from_the_reply_usage(fake: FakeOpenAIServer) -> None:
    llm = llm_for(fake.url)
    ask(llm)
    ask(llm)
    usage = llm.get_token_usage_summary()
    prompt_chars = sum(len(message["content"]) for message in MESSAGES)
    assert usage.prompt_tokens == 2 * (prompt_chars // 4)
    assert usage.completion_tokens > 100
    assert usage.successful_requests == 2


def test_text_calls_without_a_contract_return_the_text(fake: FakeOpenAIServer) -> None:
    answer = llm_for(fake.url).call("Summarise the conversation so far.")
    assert isinstance(answer, str) and answer
    assert "response_format" not in fake.requests[0].body


def test_servers_that_reject_json_schema_get_json_object_and_are_remembered() -> None:
    with FakeOpenAIServer(reject_json_schema=True) as server:
        first = ask(llm_for(server.url))
        assert isinstance(first, ProjectDescription)
        assert [r.response_format for r in server.requests] == ["json_schema", "json_object"]
        system = server.requests[1].messages[0]
        assert system["role"] == "system"
        assert system["content"].startswith("You are Business Analyst.")
        assert '"title": "ProjectDescription"' in system["content"]
        assert [m["role"] for m in server.requests[1].messages].count("system") == 1

        again = ask(llm_for(server.url))  # a new writer, same server and model
        assert isinstance(again, ProjectDescription)
        assert [r.response_format for r in server.requests[2:]] == ["json_object"]


def test_a_request_refused_with_both_formats_is_not_retryable(fake: FakeOpenAIServer) -> None:
    fake.script(
        Fault.status_error(400, "model does not exist"),
        Fault.status_error(400, "model does not exist"),
    )
    with pytest.raises(LLMRequestError) as caught:
        ask(llm_for(fake.url))
    assert caught.value.status == 400
    message = str(caught.value)
    assert "HTTP 400" in message and "json_schema refused with HTTP 400" in message
    assert len(fake.requests) == 2


# --- malformed replies --------------------------------------------------------------------


def test_one_malformed_reply_gets_one_corrective_re_ask(fake: FakeOpenAIServer) -> None:
    fake.script(Fault.malformed())
    llm = llm_for(fake.url)
    assert isinstance(ask(llm), ProjectDescription)
    assert len(fake.requests) == 2
    retry = fake.requests[1].messages
    assert retry[-2]["role"] == "assistant"
    assert retry[-1]["role"] == "user" and "not valid JSON" in retry[-1]["content"]
    assert llm.get_token_usage_summary().successful_requests == 2  # both replies cost tokens


def test_repeated_malformed_json_is_a_clear_non_retryable_error(fake: FakeOpenAIServer) -> None:
    fake.script(Fault.malformed(), Fault.malformed())
    with pytest.raises(LLMOutputError) as caught:
        ask(llm_for(fake.url))
    assert isinstance(caught.value, ValueError)  # activities.steps: non-retryable
    message = str(caught.value)
    assert "did not return a valid ProjectDescription in 2 replies" in message
    assert "not valid JSON" in message
    assert len(fake.requests) == 2


def test_json_that_misses_fields_names_them(fake: FakeOpenAIServer) -> None:
    fake.script(Fault.reply('{"project_name": "PlotPal"}'), Fault.reply("[1, 2]"))
    with pytest.raises(LLMOutputError, match="not an object"):
        ask(llm_for(fake.url))
    with pytest.raises(Exception, match=r"does not match ProjectDescription: summary: Field req"):
        parse_contract('{"project_name": "PlotPal"}', ProjectDescription)


def test_fenced_json_is_accepted() -> None:
    content = answer_content({"response_format": {"json_schema": {"name": "ProjectDescription"}}})
    parsed = parse_contract(f"```json\n{content}\n```", ProjectDescription)
    assert isinstance(parsed, ProjectDescription)


def test_repair_can_be_switched_off(fake: FakeOpenAIServer) -> None:
    fake.script(Fault.malformed())
    with pytest.raises(LLMOutputError, match="in 1 replies"):
        ask(llm_for(fake.url, llm_json_repair_attempts=0))


def test_a_page_that_is_not_a_chat_completion_is_not_retryable(fake: FakeOpenAIServer) -> None:
    fake.script(Fault.not_a_completion())
    with pytest.raises(LLMOutputError, match=r"not a chat completion.*It works!"):
        ask(llm_for(fake.url))


# --- error classification -----------------------------------------------------------------


def test_429_is_retryable_and_carries_retry_after(fake: FakeOpenAIServer) -> None:
    fake.script(Fault.rate_limited(retry_after="7"))
    llm = llm_for(fake.url)
    with pytest.raises(LLMUnavailableError) as caught:
        ask(llm)
    error = caught.value
    assert not error.non_retryable and error.type == "LLMUnavailable"
    assert error.next_retry_delay == timedelta(seconds=7)
    assert "HTTP 429, Retry-After 7 s" in error.message
    # The body says "Rate limit reached": CrewAI's own retry would have tried 3 times.
    assert _ThrottlingErrorClassifier.is_throttling_error(error)
    assert len(fake.requests) == 1


def test_crewai_does_not_wrap_call_in_its_retry() -> None:
    assert getattr(OpenAICompatibleLLM.call, "__wrapped__", None) is None
    assert getattr(OpenAICompatibleLLM.acall, "__wrapped__", None) is None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_retryable(fake: FakeOpenAIServer, status: int) -> None:
    fake.script(Fault.server_error(status))
    with pytest.raises(LLMUnavailableError, match=f"HTTP {status}: The server had an error"):
        ask(llm_for(fake.url))


def test_a_slow_reply_past_the_timeout_is_retryable(fake: FakeOpenAIServer) -> None:
    fake.script(Fault.slow(5.0))
    started = time.monotonic()
    with pytest.raises(LLMUnavailableError, match=r"did not answer within 0.3 s \(ReadTimeout\)"):
        ask(llm_for(fake.url, llm_timeout_s=0.3))
    assert time.monotonic() - started < 2.0


def test_an_unreachable_server_is_retryable() -> None:
    with FakeOpenAIServer() as server:
        url = server.url
    with pytest.raises(LLMUnavailableError, match="is unreachable"):
        ask(llm_for(url))


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (401, "check DOCFLOW_LLM_API_KEY"),
        (403, "the key may not use this model or endpoint"),
        (404, "check DOCFLOW_LLM_BASE_URL"),
    ],
)
def test_client_errors_are_not_retryable(fake: FakeOpenAIServer, status: int, hint: str) -> None:
    fake.script(Fault.status_error(status, "no"))
    with pytest.raises(LLMRequestError) as caught:
        ask(llm_for(fake.url))
    assert isinstance(caught.value, ValueError)
    assert caught.value.status == status
    message = str(caught.value)
    assert f"refused the request with HTTP {status} (" in message
    assert hint in message and message.endswith("): no")
    assert len(fake.requests) == 1


def test_a_wrong_key_is_a_401_with_the_server_message(fake: FakeOpenAIServer) -> None:
    with pytest.raises(LLMRequestError, match=r"HTTP 401 .*Incorrect API key provided"):
        ask(llm_for(fake.url, llm_api_key="sk-wrong"))


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = 1_700_000_000.0
    in_ten = format_datetime(datetime.fromtimestamp(now + 10, UTC), usegmt=True)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after(in_ten, now=lambda: now) == pytest.approx(10.0)
    assert parse_retry_after("yesterday") is None
    assert parse_retry_after(None) is None
    assert LLMUnavailableError("x", 10_000).next_retry_delay == timedelta(seconds=300)


# --- settings and per-role models ---------------------------------------------------------


def test_models_by_role_by_step_or_agent_name() -> None:
    settings = settings_for(
        "http://127.0.0.1:1/v1",
        llm_models_by_role={"architecture": "big-model", "Project Planner": "plan-model"},
    )
    assert model_for_step(settings, Step.ARCHITECTURE) == "big-model"
    assert model_for_step(settings, Step.PLAN) == "plan-model"
    assert model_for_step(settings, Step.DESCRIPTION) == MODEL


def test_models_by_role_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCFLOW_LLM_MODELS_BY_ROLE", '{"standards": "rules-model"}')
    assert model_for_step(Settings(), Step.STANDARDS) == "rules-model"


def test_unknown_roles_and_bad_urls_are_configuration_errors() -> None:
    with pytest.raises(ValueError, match="unknown roles \\['archtecture'\\]"):
        llm_for("http://127.0.0.1:1/v1", llm_models_by_role={"archtecture": "x"})
    with pytest.raises(ValueError, match="must be an http\\(s\\) URL"):
        llm_for("ftp://example.com/v1")


# --- through CrewAI -----------------------------------------------------------------------


def test_write_step_through_crewai_records_tokens_and_the_role_model(
    fake: FakeOpenAIServer,
) -> None:
    settings = settings_for(fake.url, llm_models_by_role={"description": "analyst-model"})
    writing = crew.write_step(BRIEF, settings, date(2026, 1, 15))
    assert writing.writer == "analyst-model"
    assert [doc.path for doc in writing.documents] == ["docs/about.md"]
    assert "PlotPal" in writing.documents[0].content_md
    assert writing.tokens_in > 0 and writing.tokens_out > 0
    [request] = fake.requests
    assert request.body["model"] == "analyst-model"
    assert writing.tokens_in == max(1, sum(len(m["content"]) for m in request.messages) // 4)


@pytest.mark.parametrize(
    ("fault", "error"),
    [(Fault.server_error(), LLMUnavailableError), (Fault.rate_limited("2"), LLMUnavailableError),
     (Fault.status_error(401), LLMRequestError)],
)  # fmt: skip
def test_errors_leave_crewai_unchanged_after_one_request(
    fake: FakeOpenAIServer, fault: Fault, error: type[Exception]
) -> None:
    fake.script(fault)
    with pytest.raises(error):
        crew.write_step(BRIEF, settings_for(fake.url), date(2026, 1, 15))
    assert len(fake.requests) == 1


# --- circuit breaker ------------------------------------------------------------------------


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
    settings = {"llm_breaker_failures": 2, "llm_breaker_reset_s": 60.0, "llm_timeout_s": 0.3}
    for _ in range(2):
        with pytest.raises(LLMUnavailableError, match=r"HTTP 500|did not answer"):
            ask(llm_for(fake.url, **settings))
    with pytest.raises(LLMUnavailableError, match="circuit breaker open") as caught:
        ask(llm_for(fake.url, **settings))
    assert caught.value.type == "LLMCircuitOpen" and not caught.value.non_retryable
    assert caught.value.next_retry_delay is not None
    assert timedelta(seconds=59) < caught.value.next_retry_delay <= timedelta(seconds=60)
    assert len(fake.requests) == 2  # the third call never reached the server


def test_client_errors_do_not_open_the_breaker(fake: FakeOpenAIServer) -> None:
    settings = {"llm_breaker_failures": 1, "llm_api_key": "sk-wrong"}
    for _ in range(3):
        with pytest.raises(LLMRequestError):
            ask(llm_for(fake.url, **settings))
    assert len(fake.requests) == 3
