"""ProjectFlow end to end on the real stack: gates, decisions, validator, idempotency."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import zipfile
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from activities.steps import StepActivities
from docflow.contracts import (
    STEPS,
    AcceptInput,
    Action,
    Decision,
    RunStatus,
    Step,
    WriteStepInput,
    WriteStepOutput,
)
from docflow.quality.contracts import ScoreInput, ScoreOutput, VersionScore
from docflow.settings import Settings
from docflow.storage.db import tenant_session
from docflow.storage.models import Project
from docflow.storage.repositories import TenantRepository
from tests.flow_helpers import (
    count_versions,
    decide,
    start,
    state_of,
    wait_for_event,
    wait_for_gate,
)
from worker.main import Workers, activity_functions, build_worker

pytestmark = pytest.mark.usefixtures("stack")


async def test_happy_path_through_four_gates(
    client: Client, worker: Workers, settings: Settings, project: Project, engine: AsyncEngine
) -> None:
    handle = await start(client, settings, project)
    for index, step in enumerate(STEPS):
        state = await wait_for_gate(handle, step)
        assert state.status is RunStatus.AWAITING_APPROVAL
        assert state.gate is not None and state.gate.versions
        after = await decide(handle, Decision(step=step, action=Action.APPROVE, decided_by="ann"))
        if index + 1 < len(STEPS):  # answered once accepted: the next agent is starting
            assert step in after.accepted and after.gate is None
            assert after.status is RunStatus.RUNNING and after.step is STEPS[index + 1]
        else:
            assert after.status is RunStatus.COMPLETED
    result = await handle.result()
    assert set(result.accepted) == set(STEPS)
    events = [event.type for event in (await state_of(handle)).events]
    assert events.count("awaiting_approval") == 4
    # Memory is indexed beside the flow (ADR-014): its events may follow the last one.
    after_end = events[events.index("run_completed") + 1 :]
    assert set(after_end) <= {"memory_indexed", "memory_failed"}, events
    assert [event.seq for event in (await state_of(handle)).events] == list(
        range(1, len(events) + 1)
    )


async def test_revise_and_edit_make_new_versions_and_gates(
    client: Client, worker: Workers, settings: Settings, project: Project, engine: AsyncEngine
) -> None:
    handle = await start(client, settings, project)
    first = await wait_for_gate(handle, Step.DESCRIPTION)
    assert first.gate is not None
    about = first.gate.versions[0]
    assert about.path == "docs/about.md" and about.version == 1

    feedback = "Add a seed-swap marketplace for members"
    revised = await decide(
        handle,
        Decision(step=Step.DESCRIPTION, action=Action.REVISE, feedback=feedback, version=1),
    )
    assert revised.gate is not None and revised.gate.number == first.gate.number + 1
    assert revised.gate.versions[0].version == 2
    content = await _content(engine, project, revised.gate.versions[0].version_id)
    assert "seed-swap marketplace" in content

    edited_text = "# About PlotPal\n\nWritten by hand.\n"
    edited = await decide(
        handle,
        Decision(
            step=Step.DESCRIPTION,
            action=Action.EDIT,
            document_id=about.document_id,
            content=edited_text,
            version=2,
        ),
    )
    assert edited.gate is not None and edited.gate.versions[0].version == 3
    assert await _content(engine, project, edited.gate.versions[0].version_id) == edited_text
    await decide(handle, Decision(step=Step.DESCRIPTION, action=Action.APPROVE, version=3))
    await wait_for_gate(handle, Step.ARCHITECTURE)
    async with tenant_session(engine, project.tenant_id) as session:
        accepted = await TenantRepository(project.tenant_id, session).accepted_documents(
            project.id, [Step.DESCRIPTION]
        )
    assert [(doc.path, version.version, version.source) for doc, version in accepted] == [
        ("docs/about.md", 3, "edit")
    ]
    await handle.terminate("test done")


@pytest.mark.parametrize(
    ("decision", "message"),
    [
        (Decision(step=Step.PLAN, action=Action.APPROVE), "wrong step"),
        (Decision(step=Step.DESCRIPTION, action=Action.APPROVE, version=7), "stale version"),
        (Decision(step=Step.DESCRIPTION, action=Action.REVISE, feedback="  "), "feedback"),
        (Decision(step=Step.DESCRIPTION, action=Action.EDIT, content="x"), "document_id"),
    ],
)
async def test_validator_rejects_before_history(
    client: Client,
    worker: Workers,
    settings: Settings,
    project: Project,
    decision: Decision,
    message: str,
) -> None:
    handle = await start(client, settings, project)
    await wait_for_gate(handle, Step.DESCRIPTION)
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await decide(handle, decision)
    assert message in str(failure.value.cause)
    history = await handle.fetch_history()
    update_events = [
        event
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    assert update_events == []
    state = await state_of(handle)
    assert state.status is RunStatus.AWAITING_APPROVAL
    await handle.terminate("test done")


async def test_retried_activity_does_not_duplicate_versions(
    client: Client, settings: Settings, project: Project, engine: AsyncEngine
) -> None:
    real = StepActivities(engine, settings)
    attempts: list[int] = []

    @activity.defn(name="write_step")
    async def write_step_then_crash(task: WriteStepInput) -> WriteStepOutput:
        output = await real.write_step(task)
        attempts.append(activity.info().attempt)
        if activity.info().attempt == 1:
            raise RuntimeError("worker lost after writing, before replying")
        return output

    others = [fn for fn in activity_functions(engine, settings) if fn.__name__ != "write_step"]
    async with build_worker(client, engine, settings, [write_step_then_crash, *others]):
        handle = await start(client, settings, project, auto_approve=True)
        await handle.result()
    assert attempts[:2] == [1, 2]
    async with tenant_session(engine, project.tenant_id) as session:
        repo = TenantRepository(project.tenant_id, session)
        rows = await repo.accepted_documents(project.id)
    assert rows and all(version.version == 1 for _, version in rows)
    # one version per document: agent documents plus the package README and traceability
    assert await count_versions(engine, project.tenant_id, project.id) == len(rows) + 2


async def test_auto_approve_exports_a_package(
    client: Client, worker: Workers, settings: Settings, project: Project, engine: AsyncEngine
) -> None:
    handle = await start(client, settings, project, auto_approve=True)
    result = await handle.result()
    async with tenant_session(engine, project.tenant_id) as session:
        export = await TenantRepository(project.tenant_id, session).get_export(
            project.id, result.export_id
        )
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("plotpal/manifest.json"))
        for entry in manifest["files"] + manifest["derived"]:
            data = archive.read(f"plotpal/{entry['path']}")
            assert len(data) == entry["size"]
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        traceability = archive.read("plotpal/docs/traceability.md").decode()
    for required in (
        "plotpal/README.md",
        "plotpal/docs/about.md",
        "plotpal/docs/architecture.md",
        "plotpal/docs/specs.md",
        "plotpal/docs/plans/overview.md",
        "plotpal/docs/plans/01-infrastructure.md",
        "plotpal/docs/traceability.md",
        "plotpal/tracker/github-issues.json",
        "plotpal/tracker/create_github_issues.py",
        "plotpal/tracker/jira.csv",
        "plotpal/tracker/linear.csv",
    ):
        assert required in names
    coverage = manifest["traceability"]
    assert coverage["must"] > 0 and coverage["percent"] == 100.0 and not coverage["unknown_ids"]
    assert f"{coverage['must']} of {coverage['must']} (100%)" in traceability
    assert any(name.startswith("plotpal/docs/adr/ADR-001-") for name in names)
    epics = sorted(name for name in names if "/plans/" in name and "overview" not in name)
    assert epics[-1].endswith("-testing.md")
    assert manifest["tenant_id"] == str(project.tenant_id)
    assert manifest["project"]["id"] == str(project.id)


async def test_a_second_start_is_rejected_while_running(
    client: Client, worker: Workers, settings: Settings, project: Project
) -> None:
    handle = await start(client, settings, project)
    with pytest.raises(WorkflowAlreadyStartedError):
        await start(client, settings, project)
    await handle.terminate("test done")


async def _content(engine: AsyncEngine, project: Project, version_id: UUID) -> str:
    async with tenant_session(engine, project.tenant_id) as session:
        _, version = await TenantRepository(project.tenant_id, session).get_version(version_id)
    return version.content_md


async def test_a_waiting_run_is_visible_by_search_attributes(
    client: Client, worker: Workers, settings: Settings, project: Project
) -> None:
    handle = await start(client, settings, project)
    await wait_for_gate(handle, Step.DESCRIPTION)
    query = (
        f"TenantId = '{project.tenant_id}' AND ProjectId = '{project.id}' "
        # `Status` must be quoted: unquoted, the dev server's query parser rejects it.
        "AND Step = 'description' AND `Status` = 'awaiting_approval'"
    )
    async with asyncio.timeout(20):
        while True:
            found = [execution.id async for execution in client.list_workflows(query)]
            if found:
                break
            await asyncio.sleep(0.2)
    assert found == [handle.id] == [f"docflow-{project.id}"]
    await handle.terminate("test done")


async def test_a_step_that_cannot_succeed_fails_the_run_with_its_reason(
    client: Client, settings: Settings, project: Project, engine: AsyncEngine
) -> None:
    # A local model without the server docflow dev starts for it: bad configuration.
    broken = settings.model_copy(update={"llm_provider": "local", "llm_base_url": None})
    async with build_worker(client, engine, broken):
        handle = await start(client, broken, project)
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        state = await state_of(handle)
    assert state.status is RunStatus.FAILED
    assert state.error is not None
    assert state.error.startswith("The Business Analyst could not write the description: ")
    assert "DOCFLOW_LLM_PROVIDER=local needs" in state.error
    assert state.events[-1].type == "run_failed"
    async with tenant_session(engine, project.tenant_id) as session:
        runs = await TenantRepository(project.tenant_id, session).agent_runs(project.id)
    assert [run.status for run in runs] == ["failed"]  # non-retryable: one attempt only
    assert "DOCFLOW_LLM_MODEL_PATH" in (runs[0].error or "")


async def test_a_database_error_never_reaches_the_reason_a_viewer_reads(
    client: Client, settings: Settings, project: Project, engine: AsyncEngine
) -> None:
    # What Temporal hands the workflow when an activity raised a driver's exception: its
    # class as the type and its text, SQL, parameters and document content, as the message.
    leak = "(IntegrityError) INSERT INTO versions (content_md) VALUES ('# Our secret plan')"

    @activity.defn(name="accept_step")
    async def accept_fails(accept: AcceptInput) -> int:
        raise ApplicationError(leak, type="IntegrityError", non_retryable=True)

    others = [fn for fn in activity_functions(engine, settings) if fn.__name__ != "accept_step"]
    async with build_worker(client, engine, settings, [accept_fails, *others]):
        handle = await start(client, settings, project)
        await wait_for_gate(handle, Step.DESCRIPTION)
        await decide(handle, Decision(step=Step.DESCRIPTION, action=Action.APPROVE))
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        state = await state_of(handle)
    assert state.status is RunStatus.FAILED and state.error is not None
    assert state.error == (
        "Step 'description' failed while saving the accepted description; restart the run; "
        "if it fails again, an operator can find the cause in the worker's log."
    )
    failed = [event for event in state.events if event.type == "run_failed"]
    assert failed[0].data["reason"] == state.error
    assert "INSERT" not in state.model_dump_json() and "secret" not in state.model_dump_json()


async def test_gates_show_quality_and_later_agents_get_project_memory(
    client: Client, worker: Workers, settings: Settings, project: Project, engine: AsyncEngine
) -> None:
    handle = await start(client, settings, project)
    first = await wait_for_gate(handle, Step.DESCRIPTION)
    assert first.gate is not None and first.gate.quality
    about = first.gate.quality[0]
    assert about.path == "docs/about.md" and about.passed and about.errors == 0
    assert about.flesch_reading_ease is not None
    assert any(event.type == "quality_report" for event in first.events)

    await decide(handle, Decision(step=Step.DESCRIPTION, action=Action.APPROVE))
    second = await wait_for_gate(handle, Step.ARCHITECTURE)
    # The accepted description is indexed beside the architecture step, not before it.
    indexed = await wait_for_event(handle, "memory_indexed", Step.DESCRIPTION)
    assert indexed.data["chunks"] > 0 and indexed.data["embedded"] > 0
    started = next(e for e in second.events if e.type == "step_started" and e.step is second.step)
    assert started.seq < indexed.seq
    await decide(handle, Decision(step=Step.ARCHITECTURE, action=Action.APPROVE))
    third = await wait_for_gate(handle, Step.PLAN)
    assert third.gate is not None
    _, plan = await _version(engine, project, third.gate.versions[0].version_id)
    used = plan.meta["memory_used"]
    assert used and "docs/about.md" in {item["path"] for item in used}
    await handle.terminate("test done")


async def _version(engine: AsyncEngine, project: Project, version_id: UUID) -> Any:
    async with tenant_session(engine, project.tenant_id) as session:
        return await TenantRepository(project.tenant_id, session).get_version(version_id)


@activity.defn(name="score_versions")
async def always_below_thresholds(task: ScoreInput) -> ScoreOutput:
    """A scorer that fails every version, so the flow revises automatically."""
    scores = [
        VersionScore(
            version_id=version_id, document_id=version_id, path="docs/about.md",
            kind="about", version=1, passed=False, errors=1, warnings=0,
            flesch_reading_ease=10.0, flesch_kincaid_grade=20.0, top_findings=[],
        )
        for version_id in task.version_ids
    ]  # fmt: skip
    return ScoreOutput(scores=scores, passed=False, feedback="Sentences are far too long.")


async def test_the_automatic_quality_revision_loop_stops_at_n(
    client: Client, settings: Settings, project: Project, engine: AsyncEngine
) -> None:
    others = [fn for fn in activity_functions(engine, settings) if fn.__name__ != "score_versions"]
    async with build_worker(client, engine, settings, [always_below_thresholds, *others]):
        handle = await start(client, settings, project)
        state = await wait_for_gate(handle, Step.DESCRIPTION)
        await handle.terminate("test done")
    revisions = [event for event in state.events if event.type == "quality_revision"]
    assert len(revisions) == 2  # FlowOptions.max_quality_revisions
    assert state.gate is not None and state.gate.versions[0].version == 3
    assert state.gate.quality and not state.gate.quality[0].passed
    async with tenant_session(engine, project.tenant_id) as session:
        runs = await TenantRepository(project.tenant_id, session).agent_runs(project.id)
    assert [run.status for run in runs] == ["succeeded"] * 3


async def test_a_failed_quality_revision_opens_the_gate_on_the_last_valid_version(
    client: Client, settings: Settings, project: Project, engine: AsyncEngine
) -> None:
    real = StepActivities(engine, settings)

    @activity.defn(name="write_step")
    async def revision_fails(task: WriteStepInput) -> WriteStepOutput:
        if task.feedback:  # the automatic quality revision
            raise ApplicationError(
                "the model kept failing the contract", type="ContractUnfilled", non_retryable=True
            )
        return await real.write_step(task)

    replaced = {"write_step", "score_versions"}
    others = [fn for fn in activity_functions(engine, settings) if fn.__name__ not in replaced]
    async with build_worker(
        client, engine, settings, [revision_fails, always_below_thresholds, *others]
    ):
        handle = await start(client, settings, project)
        state = await wait_for_gate(handle, Step.DESCRIPTION)
        await handle.terminate("test done")
    assert state.status is RunStatus.AWAITING_APPROVAL and state.error is None
    assert state.gate is not None and state.gate.versions[0].version == 1
    assert state.gate.quality and not state.gate.quality[0].passed  # its findings shown
    failed = [event for event in state.events if event.type == "quality_revision_failed"]
    assert len(failed) == 1 and "kept failing the contract" in failed[0].data["reason"]
