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
    client: Client, settings: Settings, flow: FlowInput
) -> WorkflowHandle[Any, FlowResult]:
    """Start the project's flow; a new run is allowed only when the last one did not complete."""
    return await client.start_workflow(
        WORKFLOW_NAME,
        flow,
        id=workflow_id(flow.project_id),
        task_queue=settings.task_queue,
        result_type=FlowResult,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(search_attributes.TENANT_ID, str(flow.tenant_id)),
                SearchAttributePair(search_attributes.PROJECT_ID, str(flow.project_id)),
                SearchAttributePair(search_attributes.STEP, STEPS[0].value),
                SearchAttributePair(search_attributes.STATUS, RunStatus.RUNNING.value),
            ]
        ),
    )
