"""Spans are recorded only once something receives them, and then with their attributes."""

from __future__ import annotations

import subprocess
import sys

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


# In a process of its own: the global tracer provider can be set once per process.
GLOBAL_ONLY_WHEN_EXPORTED = """
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from docflow.settings import Settings
from docflow.telemetry import setup_tracing

provider = setup_tracing(Settings(otel_traces_exporter="none"), "tests")
assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider"
provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
assert trace.get_tracer_provider() is provider
print("ok")
"""


def test_the_global_provider_is_set_only_once_something_exports() -> None:
    done = subprocess.run(
        [sys.executable, "-c", GLOBAL_ONLY_WHEN_EXPORTED],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip() == "ok", done.stderr
