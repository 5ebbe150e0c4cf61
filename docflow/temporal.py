"""Temporal client and how a project's flow is started and addressed.

Used by the API, the CLI and the worker; imports no workflow or activity code.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter

from docflow.contracts import STEPS, FlowInput, FlowResult, RunStatus
from docflow.settings import Settings
from workflows import search_attributes

WORKFLOW_NAME = "ProjectFlow"


def workflow_id(project_id: UUID) -> str:
    return f"docflow-{project_id}"


async def connect(settings: Settings, address: str | None = None) -> Client:
    return await Client.connect(
        address or settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        interceptors=[TracingInterceptor()],
    )


async def start_flow(
    client: Client, settings: Settings, flow: FlowInput, *, after_completion: bool = False
) -> WorkflowHandle[Any, FlowResult]:
    """Start the project's flow. A new run is allowed when the last one did not complete, and
    with ``after_completion`` also after a completed one (regenerating stale documents,
    ADR-011). Temporal refuses either while a run is going."""
    policy = (
        WorkflowIDReusePolicy.ALLOW_DUPLICATE
        if after_completion
        else WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
    )
    return await client.start_workflow(
        WORKFLOW_NAME,
        flow,
        id=workflow_id(flow.project_id),
        task_queue=settings.task_queue,
        result_type=FlowResult,
        id_reuse_policy=policy,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(search_attributes.TENANT_ID, str(flow.tenant_id)),
                SearchAttributePair(search_attributes.PROJECT_ID, str(flow.project_id)),
                SearchAttributePair(search_attributes.STEP, STEPS[0].value),
                SearchAttributePair(search_attributes.STATUS, RunStatus.RUNNING.value),
            ]
        ),
    )
