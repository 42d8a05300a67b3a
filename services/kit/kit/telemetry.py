"""OpenTelemetry set-up, driven by the standard ``OTEL_*`` variables.

Tracing is kept cheap rather than off: a parent-based sampler (``OTEL_TRACES_SAMPLER``), a batch
processor, and an OTLP exporter only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (a dangling one
blocks for seconds per flush).
"""

from __future__ import annotations

import logging
import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanProcessor
from opentelemetry.sdk.trace.sampling import (
    ParentBased,
    Sampler,
    TraceIdRatioBased,
    _get_from_env_or_default,
)

log = logging.getLogger(__name__)
_configured: TracerProvider | None = None


DEFAULT_SAMPLE_RATIO = 0.1


def default_sampler() -> Sampler:
    """``OTEL_TRACES_SAMPLER`` when set; otherwise 10 % of new traces, and whatever the caller
    decided for continued ones — so one trace is complete or absent, never half-sampled."""
    if os.environ.get("OTEL_TRACES_SAMPLER"):
        return _get_from_env_or_default()
    return ParentBased(TraceIdRatioBased(DEFAULT_SAMPLE_RATIO))


def configure(
    service: str, *, processor: SpanProcessor | None = None, sampler: Sampler | None = None
) -> TracerProvider:
    """Install the process-wide TracerProvider once; later calls return the same provider."""
    global _configured
    if _configured is not None:
        if processor is not None:
            _configured.add_span_processor(processor)
        return _configured
    resource = Resource.create(
        {
            "service.name": os.environ.get("OTEL_SERVICE_NAME") or f"vellarys-{service}",
            "service.namespace": "vellarys",
            "deployment.environment": os.environ.get("ENVIRONMENT", "development"),
        }
    )
    provider = TracerProvider(resource=resource, sampler=sampler or default_sampler())
    if processor is not None:
        provider.add_span_processor(processor)
    exporter = _otlp_exporter()
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _instrument_libraries()
    _configured = provider
    return provider


def _otlp_exporter() -> SpanExporter | None:
    if not (
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        return None
    # OTLP over gRPC: the collector in deploy/ listens for it on 4317.
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc

    return Grpc()


def _instrument_libraries() -> None:
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor, HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    # httpx for provider calls; httpx2 is what openai 3.x uses; redis for shared limits.
    for instrumentor in (
        AsyncPGInstrumentor(),
        HTTPXClientInstrumentor(),
        HTTPX2ClientInstrumentor(),
        RedisInstrumentor(),
    ):
        try:
            instrumentor.instrument()
        except Exception:  # an instrumentation must never stop a service from starting
            log.warning("%s unavailable", type(instrumentor).__name__, exc_info=True)


def shutdown() -> None:
    if _configured is not None:
        _configured.shutdown()
