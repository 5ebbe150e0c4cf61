"""ProjectFlow with the OpenAI-compatible provider against a real local HTTP server.

The worker runs the real activities with ``llm_provider="openai"``; the LLM is
``FakeOpenAIServer`` on 127.0.0.1. Temporal is the only retry layer: a transient fault
costs one failed activity attempt (recorded in agent_runs) and the next attempt succeeds;
a permanent one fails the step at once with a clear reason in FlowState.error.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.client import Client, WorkflowFailureError

from activities.quality import QualityActivities
from docflow.agents.breaker import reset_breakers
from docflow.agents.openai_chat import forget_endpoints
from docflow.contracts import STEPS, Action, Decision, RunStatus, Step
from docflow.quality.contracts import ScoreInput, ScoreOutput
from docflow.settings import Settings
from docflow.storage.db import tenant_session
from docflow.storage.models import Project
from docflow.storage.repositories import TenantRepository
from tests.fakes.openai_server import FakeOpenAIServer, Fault
from tests.flow_helpers import decide, start, state_of, wait_for_gate
from worker.main import activity_functions, build_worker

pytestmark = [
    pytest.mark.usefixtures("stack"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:crewai"),
]

MODEL = "fake-model"
KEY = "sk-docflow-test"


@pytest.fixture(autouse=True)
def fresh_process_state() -> Iterator[None]:
    reset_breakers()
    forget_endpoints()
    yield


@pytest.fixture
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(api_key=KEY) as server:
        yield server


def openai_settings(settings: Settings, fake: FakeOpenAIServer, **overrides: Any) -> Settings:
    return settings.model_copy(
        update={
            "llm_provider": "openai",
            "llm_base_url": fake.url,
            "llm_api_key": SecretStr(KEY),
            "llm_model": MODEL,
            "llm_first_token_timeout_s": 10.0,
            **overrides,
        }
    )


@contextlib.asynccontextmanager
async def running_worker(
    client: Client, engine: AsyncEngine, settings: Settings
) -> AsyncIterator[None]:
    async with build_worker(client, engine, settings):
        yield


async def agent_runs(engine: AsyncEngine, project: Project) -> list[dict[str, Any]]:
    async with tenant_session(engine, project.tenant_id) as session:
        runs = await TenantRepository(project.tenant_id, session).agent_runs(project.id)
    fields = ("step", "status", "writer", "tokens_in", "tokens_out", "error")
    return [{name: getattr(run, name) for name in fields} for run in runs]


async def test_happy_path_completes_with_tokens_in_agent_runs(
    client: Client, engine: AsyncEngine, settings: Settings, project: Project
) -> None:
    fake = FakeOpenAIServer(api_key=KEY, reject_json_schema=True)
    with fake:
        flow_settings = openai_settings(settings, fake)
        async with running_worker(client, engine, flow_settings):
            handle = await start(client, flow_settings, project, auto_approve=True)
            result = await handle.result()
    assert set(result.accepted) == set(STEPS)
    runs = await agent_runs(engine, project)
    assert [run["step"] for run in runs] == [step.value for step in STEPS]
    for run in runs:
        assert run["status"] == "succeeded" and run["writer"] == MODEL
        assert run["tokens_in"] > 0 and run["tokens_out"] > 0
    # json_schema was refused (by the sections in flight at first); the fallback was
    # remembered for every later section of every step.
    formats = [request.response_format for request in fake.requests]
    refused = formats.count("json_schema")
    assert 1 <= refused <= flow_settings.llm_concurrency
    window = 2 * flow_settings.llm_concurrency  # the first sections, each refused once
    assert formats[0] == "json_schema" and "json_schema" not in formats[window:]
    assert set(formats) == {"json_schema", "json_object"} and len(formats) > 30


async def test_a_transient_500_is_retried_by_temporal_and_recovers(
    client: Client,
    engine: AsyncEngine,
    settings: Settings,
    project: Project,
    fake: FakeOpenAIServer,
) -> None:
    fake.script(Fault.server_error())
    flow_settings = openai_settings(settings, fake)
    async with running_worker(client, engine, flow_settings):
        handle = await start(client, flow_settings, project)
        state = await wait_for_gate(handle, Step.DESCRIPTION)
        await handle.terminate("test done")
    assert state.gate is not None and state.gate.versions[0].path == "docs/about.md"
    # Eight sections and the one failed request: the second attempt resumed, writing only
    # the sections the first had not finished.
    assert len(fake.requests) == 8 + 1
    failed, succeeded = await agent_runs(engine, project)
    assert failed["status"] == "failed" and "HTTP 500" in failed["error"]
    assert "LLMUnavailableError" in failed["error"]
    assert succeeded["status"] == "succeeded" and succeeded["tokens_in"] > 0


async def test_429_retry_after_sets_the_delay_of_the_next_attempt(
    client: Client,
    engine: AsyncEngine,
    settings: Settings,
    project: Project,
    fake: FakeOpenAIServer,
) -> None:
    fake.script(Fault.rate_limited(retry_after="3"))
    flow_settings = openai_settings(settings, fake)
    async with running_worker(client, engine, flow_settings):
        handle = await start(client, flow_settings, project)
        await wait_for_gate(handle, Step.DESCRIPTION)
        await handle.terminate("test done")
    times = sorted(request.at for request in fake.requests)
    # The policy's own first interval is 1 s: waiting 3 s means Retry-After was honoured.
    assert max(later - earlier for earlier, later in itertools.pairwise(times)) >= 2.9
    failed = (await agent_runs(engine, project))[0]
    assert "HTTP 429, Retry-After 3 s" in failed["error"]


async def test_a_permanent_401_fails_the_step_with_a_clear_reason(
    client: Client,
    engine: AsyncEngine,
    settings: Settings,
    project: Project,
    fake: FakeOpenAIServer,
) -> None:
    flow_settings = openai_settings(settings, fake, llm_api_key=SecretStr("sk-revoked"))
    async with running_worker(client, engine, flow_settings):
        handle = await start(client, flow_settings, project)
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        state = await state_of(handle)
    assert state.status is RunStatus.FAILED and state.step is Step.DESCRIPTION
    assert state.error is not None
    assert state.error.startswith("The Business Analyst could not write the '")
    assert "HTTP 401 (check DOCFLOW_LLM_API_KEY): Incorrect API key provided" in state.error
    # non-retryable: no second attempt (only the sections already in flight asked)
    assert len(fake.requests) <= flow_settings.llm_concurrency
    [failed] = await agent_runs(engine, project)
    assert failed["status"] == "failed" and "LLMRequestError" in failed["error"]

    # With the key fixed, a new run of the project (what restart starts) goes through.
    fixed = openai_settings(settings, fake)
    async with running_worker(client, engine, fixed):
        again = await start(client, fixed, project)
        await wait_for_gate(again, Step.DESCRIPTION)
        await again.terminate("test done")


async def test_a_quality_revision_asks_only_for_the_sections_behind_the_findings(
    client: Client,
    engine: AsyncEngine,
    settings: Settings,
    project: Project,
    fake: FakeOpenAIServer,
) -> None:
    real = QualityActivities(engine, settings)
    asked_before_revision: list[int] = []

    @activity.defn(name="score_versions")
    async def first_adr_fails_once(task: ScoreInput) -> ScoreOutput:
        score = await real.score_versions(task)
        adr = next((s for s in score.scores if s.path.startswith("docs/adr/ADR-001")), None)
        if adr is None or asked_before_revision:
            return score
        asked_before_revision.append(len(fake.requests))
        failed = adr.model_copy(update={"passed": False, "errors": 1})
        scores = [failed if s is adr else s for s in score.scores]
        return ScoreOutput(scores=scores, passed=False, feedback="ADR-001: add a third option.")

    flow_settings = openai_settings(settings, fake)
    others = [f for f in activity_functions(engine, flow_settings)
              if f.__name__ != "score_versions"]  # fmt: skip
    async with build_worker(client, engine, flow_settings, [first_adr_fails_once, *others]):
        handle = await start(client, flow_settings, project)
        await wait_for_gate(handle, Step.DESCRIPTION)
        await decide(handle, Decision(step=Step.DESCRIPTION, action=Action.APPROVE))
        state = await wait_for_gate(handle, Step.ARCHITECTURE)
        await handle.terminate("test done")
    assert [e.type for e in state.events].count("quality_revision") == 1
    revision = fake.requests[asked_before_revision[0] :]
    asked = [r.body["response_format"]["json_schema"]["name"] for r in revision]
    # The ADR with the finding and the revision notes; the other sections were kept.
    assert sorted(asked) == ["ArchitectureRevisionNotes", "KeyDecision"]
    assert state.gate is not None and state.gate.usage is not None
    assert state.gate.usage.resumed >= 10 and state.gate.usage.sections >= 12
