"""OpenTelemetry: Temporal's interceptor and our activity spans, with tenant and project."""

from __future__ import annotations

from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client

from docflow.settings import Settings
from docflow.storage.models import Project
from docflow.telemetry import setup_tracing
from tests.flow_helpers import start
from worker.main import Workers


async def test_a_flow_leaves_spans_with_tenant_project_and_documents(
    client: Client, worker: Workers, settings: Settings, project: Project
) -> None:
    exporter = InMemorySpanExporter()
    setup_tracing(settings, "tests").add_span_processor(SimpleSpanProcessor(exporter))
    handle = await start(client, settings, project, auto_approve=True)
    await handle.result()

    spans = [(span.name, dict(span.attributes or {})) for span in exporter.get_finished_spans()]
    ours = [(name, attrs) for name, attrs in spans if attrs.get("project_id") == str(project.id)]
    assert {"docflow.write_step", "docflow.accept_step", "docflow.export"} <= {n for n, _ in ours}
    assert all(attrs["tenant_id"] == str(project.tenant_id) for _, attrs in ours)
    assert all(attrs.get("document_ids") for name, attrs in ours if name == "docflow.write_step")
    temporal_names = {span.name for span in exporter.get_finished_spans()}
    assert "RunActivity:write_step" in temporal_names
    assert any(name.startswith("RunWorkflow:ProjectFlow") for name in temporal_names)
