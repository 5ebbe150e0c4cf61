"""Spans are recorded only once something receives them, and then with their attributes."""

from __future__ import annotations

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from docflow.telemetry import RecordingWhenExported


def test_spans_are_recorded_from_the_first_span_processor_on() -> None:
    provider = RecordingWhenExported(Resource.create({"service.name": "tests"}))
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span("before", attributes={"tenant_id": "t"}) as span:
        assert not span.is_recording()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with tracer.start_as_current_span("after", attributes={"tenant_id": "t"}) as span:
        assert span.is_recording()
    assert [(s.name, dict(s.attributes or {})) for s in exporter.get_finished_spans()] == [
        ("after", {"tenant_id": "t"})
    ]
