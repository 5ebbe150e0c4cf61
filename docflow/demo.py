"""``docflow demo``: the whole flow on a sample idea, auto-approved, ending in a ZIP.

It runs the real workflow on the embedded stack, with a worker in this process, and
shows a progress bar per step from the workflow's query.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from redis.exceptions import RedisError
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowHandle

from docflow import admin, temporal
from docflow.contracts import (
    STEP_AGENT,
    STEPS,
    FlowInput,
    FlowOptions,
    FlowState,
    RunStatus,
    Step,
    TenantScope,
)
from docflow.progress import section_drafts
from docflow.settings import Settings
from docflow.storage.db import tenant_session
from docflow.storage.repositories import TenantRepository
from workflows.project_flow import ProjectFlow

POLL_S = 0.2
console = Console(stderr=True)


@dataclass(frozen=True)
class DemoRequest:
    name: str
    idea: str
    constraints: str
    out: Path


@dataclass(frozen=True)
class DemoResult:
    project_id: UUID
    export_id: UUID
    out: Path
    size: int
    files: int


async def run_demo(
    request: DemoRequest, settings: Settings, client: Client, engine: AsyncEngine
) -> DemoResult:
    tenant = await admin.ensure_tenant(engine, "demo", "Demo tenant")
    project = await admin.create_project(
        engine,
        tenant.id,
        name=request.name,
        idea=request.idea,
        constraints=request.constraints,
        created_by="docflow demo",
    )
    flow = FlowInput(
        tenant_id=tenant.id,
        project_id=project.id,
        requested_by="docflow demo",
        options=FlowOptions(
            auto_approve=True, max_quality_revisions=settings.quality_max_revisions
        ),
    )
    handle = await temporal.start_flow(client, settings, flow)
    console.print(f"project {project.id}: workflow [bold]{handle.id}[/bold]")
    scope = TenantScope(tenant_id=tenant.id, project_id=project.id)
    state = await _follow(handle, settings.redis_url, scope)
    await _print_usage(engine, tenant.id, project.id)
    if state.status is not RunStatus.COMPLETED or state.export_id is None:
        raise RuntimeError(f"the flow ended as {state.status}: {state.error or 'no export'}")
    return await _write_zip(engine, tenant.id, project.id, state.export_id, request.out)


async def _print_usage(engine: AsyncEngine, tenant_id: UUID, project_id: UUID) -> None:
    """Tokens and writing time per step, failed attempts included (agent_runs)."""
    async with tenant_session(engine, tenant_id) as session:
        runs = await TenantRepository(tenant_id, session).agent_runs(project_id)
    table = Table("step", "writer", "attempts", "tokens in", "tokens out", "writing", "tokens/s")
    for step in STEPS:
        mine = [run for run in runs if run.step == step.value]
        if not mine:
            continue
        seconds = sum(run.duration_ms for run in mine) / 1000
        tokens_out = sum(run.tokens_out for run in mine)
        rate = f"{tokens_out / seconds:.1f}" if seconds > 0 and tokens_out else "-"
        table.add_row(
            STEP_AGENT[step], mine[-1].writer[:40], str(len(mine)),
            str(sum(run.tokens_in for run in mine)), str(tokens_out), f"{seconds:.1f} s", rate,
        )  # fmt: skip
    console.print(table)


async def _follow(
    handle: WorkflowHandle[Any, Any], redis_url: str | None, scope: TenantScope
) -> FlowState:
    columns = (TextColumn("{task.description:<60}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        tasks = {step: progress.add_task(_label(step), total=3) for step in STEPS}
        export_task = progress.add_task("5. Export package", total=1)
        drafts = asyncio.create_task(_show_drafts(redis_url, scope, progress, tasks))
        try:
            while True:
                state = await handle.query(ProjectFlow.state)
                _update_bars(progress, tasks, export_task, state)
                if state.status in (RunStatus.COMPLETED, RunStatus.FAILED):
                    return state
                await asyncio.sleep(POLL_S)
        finally:
            drafts.cancel()


def _label(step: Step, section: str = "") -> str:
    label = f"{STEPS.index(step) + 1}. {STEP_AGENT[step]}"
    return f"{label}: {section}" if section else label


async def _show_drafts(
    redis_url: str | None, scope: TenantScope, progress: Progress, tasks: dict[Step, TaskID]
) -> None:
    """The section each agent is writing, and its characters so far, from the run's channel."""
    if redis_url is None:
        return
    try:
        async for draft in section_drafts(redis_url, scope):
            chars = f" ({draft.chars:,} characters)" if draft.chars else ""
            section = f"{draft.section} {draft.state}{chars}"
            progress.update(tasks[draft.step], description=_label(draft.step, section))
    except RedisError:
        return  # the bars still move with the run's state


def _update_bars(
    progress: Progress, tasks: dict[Step, TaskID], export_task: TaskID, state: FlowState
) -> None:
    """Each step: started (1/3), written (2/3), accepted (3/3)."""
    done = {"step_started": 1, "step_finished": 2, "step_accepted": 3, "step_skipped": 3}
    for event in state.events:
        if event.step is not None and event.type in done:
            task = tasks[event.step]
            completed = max(progress.tasks[task].completed, done[event.type])
            progress.update(task, completed=completed)
            if completed == 3:
                progress.update(task, description=_label(event.step))
    if state.status is RunStatus.COMPLETED:
        progress.update(export_task, completed=1)


async def _write_zip(
    engine: AsyncEngine, tenant_id: UUID, project_id: UUID, export_id: UUID, out: Path
) -> DemoResult:
    async with tenant_session(engine, tenant_id) as session:
        export = await TenantRepository(tenant_id, session).get_export(project_id, export_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_suffix(out.suffix + ".part")
    temporary.write_bytes(export.content)
    temporary.replace(out)  # never leave a half-written ZIP behind
    return DemoResult(
        project_id=project_id,
        export_id=export_id,
        out=out,
        size=export.size,
        files=len(export.manifest["files"]) + 1,
    )
