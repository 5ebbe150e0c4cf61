"""Temporal client and how a project's flow is started and addressed.

Used by the API, the CLI and the worker; imports no workflow or activity code. The
connection is configured as Temporal's own tools are (``temporalio.envconfig``): a profile
of the TOML config file (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE) and the standard
TEMPORAL_* variables: address, namespace, API key, TLS and mTLS client certificates, gRPC
metadata. See docs/operations.md.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any
from uuid import UUID

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
    ListSearchAttributesResponse,
)
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfigProfile, ClientConnectConfig
from temporalio.service import RPCError, RPCStatusCode

from docflow.contracts import STEPS, FlowInput, FlowResult, RunStatus, TenantScope
from docflow.settings import Settings
from workflows import search_attributes

WORKFLOW_NAME = "ProjectFlow"


def workflow_id(project_id: UUID) -> str:
    return f"docflow-{project_id}"


def connect_config(settings: Settings, address: str | None = None) -> ClientConnectConfig:
    """The connection of these settings: the envconfig profile (file and TEMPORAL_*
    variables), with docflow's address and namespace when set, else the embedded server's.
    A certificate file that does not exist fails here, before any connection."""
    profile = ClientConfigProfile.load()
    if profile.api_key == "":  # an empty TEMPORAL_API_KEY (a template's blank) means none
        profile = dataclasses.replace(profile, api_key=None)
    config = profile.to_client_connect_config()  # an API key turns TLS on
    config["target_host"] = (
        address or settings.temporal_address or profile.address or settings.temporal_target
    )
    config["namespace"] = settings.temporal_namespace or profile.namespace or "default"
    return config


def scope_attributes(scope: TenantScope) -> TypedSearchAttributes:
    """The search attributes of a short workflow run for one project (memory, export)."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(search_attributes.TENANT_ID, str(scope.tenant_id)),
            SearchAttributePair(search_attributes.PROJECT_ID, str(scope.project_id)),
        ]
    )


async def connect(settings: Settings, address: str | None = None) -> Client:
    return await Client.connect(
        **connect_config(settings, address),
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


NAMESPACE_RETENTION = timedelta(days=30)


async def ensure_namespace(client: Client) -> bool:
    """Register the client's namespace when the cluster lacks it (a new self-hosted
    cluster); True when it was registered. Temporal Cloud's namespaces exist already."""
    try:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=client.namespace)
        )
        return False
    except RPCError as error:
        if error.status is not RPCStatusCode.NOT_FOUND:
            raise
    retention = Duration()
    retention.FromTimedelta(NAMESPACE_RETENTION)
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=client.namespace, workflow_execution_retention_period=retention
        )
    )
    return True


NAMESPACE_CACHE_WAIT_S = 60.0  # a new namespace reaches every Temporal service within this


async def _search_attributes_of(client: Client) -> ListSearchAttributesResponse:
    """The namespace's search attributes, waiting out the cluster's namespace cache while a
    just-registered namespace is still unknown to the operator service."""
    deadline = asyncio.get_running_loop().time() + NAMESPACE_CACHE_WAIT_S
    while True:
        try:
            return await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=client.namespace)
            )
        except RPCError as error:
            late = asyncio.get_running_loop().time() > deadline
            if error.status is not RPCStatusCode.NOT_FOUND or late:
                raise
        await asyncio.sleep(1.0)


async def register_search_attributes(client: Client) -> list[str]:
    """Add to the client's namespace the search attributes docflow's runs carry
    (``workflows.search_attributes``) that it lacks, through the operator API; return the
    names added. The embedded server registers them at start; Temporal Cloud takes them
    from its own tools instead (docs/operations.md)."""
    listed = await _search_attributes_of(client)
    missing = {
        key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        for key in search_attributes.ALL
        if key.name not in listed.custom_attributes
    }
    wrong = [
        key.name
        for key in search_attributes.ALL
        if key.name in listed.custom_attributes
        and listed.custom_attributes[key.name] != IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    ]
    if wrong:
        raise ValueError(
            f"search attributes {', '.join(wrong)} exist in namespace {client.namespace!r} "
            "with a type other than Keyword"
        )
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)
