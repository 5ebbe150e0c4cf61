"""OpenTelemetry set-up for the API, the worker and the CLI.

The exporter comes from the standard environment: OTEL_TRACES_EXPORTER (none by default,
``console`` or ``otlp``), OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME. Without one,
spans are not recorded at all (``RecordingWhenExported``), and the process's global tracer
provider stays OpenTelemetry's unset proxy, which FastAPI's own instrumentation skips per
request: spans nobody receives would cost CPU on every request (FastAPI's span machinery
alone was ~10% of a GET's, its spans dropped by the sampler).
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

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


_DROP = SamplingResult(Decision.DROP)


class _UntilExported(Sampler):
    """Drops every span until something receives them, then samples all: spans nobody
    exports cost CPU on every request (FastAPI's, Temporal's, ours) for nothing."""

    def __init__(self) -> None:
        self.exported = False

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if not self.exported:
            return _DROP
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)  # they start the span

    def get_description(self) -> str:
        return "docflow: all spans once exported, none before"


class RecordingWhenExported(TracerProvider):
    """A tracer provider whose spans are recorded from its first span processor on (an
    exporter from the environment, or a test's in-memory one). With ``global_when_exported``
    it also becomes the process's global provider then, and not before."""

    def __init__(self, resource: Resource, *, global_when_exported: bool = False) -> None:
        self._until_exported = _UntilExported()
        self._global_when_exported = global_when_exported
        super().__init__(resource=resource, sampler=self._until_exported)

    def add_span_processor(self, span_processor: SpanProcessor) -> None:
        super().add_span_processor(span_processor)
        if not self._until_exported.exported and self._global_when_exported:
            trace.set_tracer_provider(self)
        self._until_exported.exported = True


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
    provider = RecordingWhenExported(resource, global_when_exported=True)
    exporter = _exporter(settings.otel_traces_exporter.strip().lower())
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    _configured = provider
    return provider


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name, __version__)
