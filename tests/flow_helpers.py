"""Helpers for driving ProjectFlow in tests."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from sqlalchemy import Result, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowHandle

from docflow import temporal
from docflow.contracts import (
    Decision,
    FlowEvent,
    FlowInput,
    FlowOptions,
    FlowResult,
    FlowState,
    RunStatus,
    Step,
)
from docflow.settings import Settings
from docflow.storage.db import tenant_session
from docflow.storage.models import Project
from workflows.project_flow import ProjectFlow

Handle = WorkflowHandle[Any, FlowResult]


async def start(
    client: Client, settings: Settings, project: Project, *, auto_approve: bool = False
) -> Handle:
    flow = FlowInput(
        tenant_id=project.tenant_id,
        project_id=project.id,
        requested_by="tests",
        options=FlowOptions(auto_approve=auto_approve),
    )
    return await temporal.start_flow(client, settings, flow)


async def state_of(handle: Handle) -> FlowState:
    return await handle.query(ProjectFlow.state)


GATE_TIMEOUT_S = 60.0


async def wait_for_gate(handle: Handle, step: Step) -> FlowState:
    async with asyncio.timeout(GATE_TIMEOUT_S):
        while True:
            state = await state_of(handle)
            if state.status is RunStatus.FAILED:
                raise AssertionError(f"flow failed: {state.error}")
            if state.gate is not None and state.gate.step is step:
                return state
            await asyncio.sleep(0.05)


async def wait_for_event(handle: Handle, event_type: str, step: Step) -> FlowEvent:
    """The run's first ``event_type`` event of ``step``, once it has happened."""
    async with asyncio.timeout(GATE_TIMEOUT_S):
        while True:
            state = await state_of(handle)
            found = [e for e in state.events if e.type == event_type and e.step is step]
            if found:
                return found[0]
            if state.status is RunStatus.FAILED:
                raise AssertionError(f"flow failed: {state.error}")
            await asyncio.sleep(0.05)


async def decide(handle: Handle, decision: Decision) -> FlowState:
    return await handle.execute_update(ProjectFlow.decide, decision)


async def run_sql(session: AsyncSession, sql: str, **params: object) -> Result[Any]:
    """Raw SQL on the session's connection (still inside its tenant-scoped transaction)."""
    return await (await session.connection()).execute(text(sql), params)


async def count_versions(engine: AsyncEngine, tenant_id: UUID, project_id: UUID) -> int:
    async with tenant_session(engine, tenant_id) as session:
        result = await run_sql(
            session, "select count(*) from document_versions where project_id = :p", p=project_id
        )
        return int(result.scalar_one())
