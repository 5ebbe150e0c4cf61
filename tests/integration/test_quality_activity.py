"""The score_versions activity against real PostgreSQL: it reads the versions and the
project's accepted documents, stores each report with its version, and re-scoring writes
the same."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.quality import QualityActivities
from docflow import admin
from docflow.agents.contracts import CONTRACT_FOR_STEP
from docflow.agents.render import render_contract
from docflow.contracts import RenderedDocument, Step, StepBrief, TenantScope
from docflow.offline.writer import draft_contract
from docflow.quality.contracts import ScoreInput, ScoreOutput
from docflow.quality.report import CheckId, QualityReport
from docflow.quality.store import QualityStore
from docflow.settings import Settings
from docflow.storage.db import tenant_session
from docflow.storage.models import Project, Tenant
from docflow.storage.repositories import TenantRepository


def offline_package(project: Project) -> dict[Step, list[RenderedDocument]]:
    """The offline writer's drafts of the four steps (without CrewAI: same documents)."""
    written: dict[Step, list[RenderedDocument]] = {}
    for step in Step:
        brief = StepBrief(
            step=step,
            project_name=project.name,
            idea=project.idea,
            constraints=project.constraints,
            upstream=[document for documents in written.values() for document in documents],
        )
        contract = draft_contract(brief, CONTRACT_FOR_STEP[step])
        written[step] = render_contract(contract, date(2026, 1, 15))
    return written


async def write_versions(
    engine: AsyncEngine,
    project: Project,
    step: Step,
    documents: list[RenderedDocument],
    *,
    accept: bool = False,
) -> list[UUID]:
    async with tenant_session(engine, project.tenant_id) as session:
        repo = TenantRepository(project.tenant_id, session)
        version_ids = []
        for rendered in documents:
            document = await repo.ensure_document(project.id, step.value, rendered)
            version = await repo.add_version(
                document,
                rendered.content_md,
                source="agent",
                created_by="tests",
                writer="tests",
                idempotency_key=f"quality-test:{uuid4()}",
            )
            version_ids.append(version.id)
        if accept:
            await repo.accept_step(project.id, step, version_ids)
    return version_ids


Stored = list[tuple[QualityReport | None, float | None]]


async def stored_reports(engine: AsyncEngine, tenant: UUID, ids: list[UUID]) -> Stored:
    async with tenant_session(engine, tenant) as session:
        store = QualityStore(tenant, session)
        reports = [await store.load(version_id) for version_id in ids]
        versions = [await TenantRepository(tenant, session).get_version(i) for i in ids]
    return [
        (report, version.readability)
        for report, (_, version) in zip(reports, versions, strict=True)
    ]


async def score(engine: AsyncEngine, settings: Settings, task: ScoreInput) -> ScoreOutput:
    activities = QualityActivities(engine, settings)
    output: ScoreOutput = await ActivityEnvironment().run(activities.score_versions, task)
    return output


async def test_scores_are_stored_with_their_versions_and_rescoring_writes_the_same(
    engine: AsyncEngine, settings: Settings, project: Project
) -> None:
    package = offline_package(project)
    await write_versions(engine, project, Step.DESCRIPTION, package[Step.DESCRIPTION], accept=True)
    await write_versions(
        engine, project, Step.ARCHITECTURE, package[Step.ARCHITECTURE], accept=True
    )
    plan_ids = await write_versions(engine, project, Step.PLAN, package[Step.PLAN])
    task = ScoreInput(
        scope=TenantScope(tenant_id=project.tenant_id, project_id=project.id),
        version_ids=plan_ids,
    )

    first = await score(engine, settings, task)
    stored = await stored_reports(engine, project.tenant_id, plan_ids)
    second = await score(engine, settings, task)

    assert first == second and first.passed and first.feedback == ""
    assert [s.version_id for s in first.scores] == plan_ids
    assert [s.path for s in first.scores] == [d.path for d in package[Step.PLAN]]
    assert stored == await stored_reports(engine, project.tenant_id, plan_ids)
    for version_score, (report, readability) in zip(first.scores, stored, strict=True):
        assert isinstance(report, QualityReport) and report.passed
        assert (
            readability
            == version_score.flesch_reading_ease
            == (report.summary.readability.flesch_reading_ease)
        )
        assert version_score.top_findings == report.findings[: settings.quality_top_findings]
    overview = first.scores[0]
    # The accepted architecture was read: the plan is checked against its components.
    assert any(f.check is CheckId.COMPONENT_IN_PLAN for f in overview.top_findings)


async def test_a_defect_fails_the_version_with_feedback(
    engine: AsyncEngine, settings: Settings, project: Project
) -> None:
    package = offline_package(project)
    await write_versions(
        engine, project, Step.ARCHITECTURE, package[Step.ARCHITECTURE], accept=True
    )
    plan = package[Step.PLAN]
    broken = plan[2].model_copy(
        update={"content_md": plan[2].content_md + "\n- [ ] Wire up the Billing Service\n"}
    )
    ids = await write_versions(engine, project, Step.PLAN, [*plan[:2], broken, *plan[3:]])
    task = ScoreInput(
        scope=TenantScope(tenant_id=project.tenant_id, project_id=project.id), version_ids=ids
    )

    output = await score(engine, settings, task)

    failed = [s for s in output.scores if not s.passed]
    assert [s.path for s in failed] == [broken.path]
    assert failed[0].errors == 1
    assert failed[0].top_findings[0].check is CheckId.UNKNOWN_COMPONENT
    assert not output.passed
    assert output.feedback == f"- {broken.path}: {failed[0].top_findings[0].message}"
    assert "Billing Service" in output.feedback


async def test_versions_of_another_tenant_or_project_are_not_found(
    engine: AsyncEngine, settings: Settings, project: Project, tenant: Tenant
) -> None:
    package = offline_package(project)
    ids = await write_versions(engine, project, Step.DESCRIPTION, package[Step.DESCRIPTION])
    other_tenant = await admin.ensure_tenant(engine, f"t-{uuid4().hex[:10]}", "Other")
    other_project = await admin.create_project(
        engine, tenant.id, name="Other", idea="Another idea.", created_by="tests"
    )
    attempts = [
        TenantScope(tenant_id=other_tenant.id, project_id=project.id),
        TenantScope(tenant_id=tenant.id, project_id=other_project.id),
    ]
    for scope in attempts:
        with pytest.raises(ApplicationError) as raised:
            await score(engine, settings, ScoreInput(scope=scope, version_ids=ids))
        assert raised.value.type == "NotFound" and raised.value.non_retryable
    async with tenant_session(engine, tenant.id) as session:
        assert await QualityStore(tenant.id, session).load(ids[0]) is None
