"""OpenTelemetry set-up for the API, the worker and the CLI.

The exporter comes from the standard environment: OTEL_TRACES_EXPORTER (none by default,
``console`` or ``otlp``), OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)

from docflow import __version__
from docflow.settings import Settings

_configured: TracerProvider | None = None


def _exporter(name: str) -> SpanExporter | None:
    if name == "console":
        return ConsoleSpanExporter()
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if name in ("", "none"):
        return None
    raise ValueError(f"OTEL_TRACES_EXPORTER={name!r} is not supported (none, console, otlp)")


def setup_tracing(settings: Settings, component: str) -> TracerProvider:
    """Install the process's tracer provider once; later calls return the same one."""
    global _configured
    if _configured is not None:
        return _configured
    resource = Resource.create(
        {
            "service.name": settings.otel_service_name,
            "service.version": __version__,
            "service.namespace": "docflow",
            "docflow.component": component,
        }
    )
    provider = TracerProvider(resource=resource)
    exporter = _exporter(settings.otel_traces_exporter.strip().lower())
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _configured = provider
    return provider


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name, __version__)
