"""OpenTelemetry set-up, driven by the standard ``OTEL_*`` variables.

Tracing is kept cheap rather than off: a parent-based sampler (``OTEL_TRACES_SAMPLER``), a batch
processor, and an OTLP exporter only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (a dangling one
blocks for seconds per flush).
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

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


class RedactingProcessor(SpanProcessor):
    """Removes secrets from span attributes as spans start: the per-channel webhook token travels
    in the URL path, and traces leave the process (OTLP) where logs' redaction does not reach."""

    _PATH_KEYS = ("url.path", "http.target", "http.url", "url.full", "http.route")

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        attributes = getattr(span, "attributes", None) or {}
        for key in self._PATH_KEYS:
            value = attributes.get(key)
            if isinstance(value, str) and "/webhook/" in value:
                span.set_attribute(key, _WEBHOOK_TOKEN.sub(r"\1{token}", value))

    def on_end(self, span: Any) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


_WEBHOOK_TOKEN = re.compile(r"(/webhook/[a-z0-9]+/)[A-Za-z0-9_\-]{8,}")


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
    provider.add_span_processor(RedactingProcessor())
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


def _in_sampled_trace() -> bool:
    return bool(trace.get_current_span().get_span_context().trace_flags.sampled)


def _statements_in_sampled_traces() -> Any:
    """asyncpg's instrumentor, making statement spans only inside a sampled trace.

    The stock one prepares every statement's span (a regex over the SQL, the attributes, a
    non-recording span attached as current) whatever the sampling decided: about a tenth of the
    conversation service's busy samples on the reply path (py-spy), for the nine traces in ten that
    export nothing.
    Inside a sampled trace nothing changes; a statement outside any trace (a background loop's)
    gets no span, where it used to start a one-span trace of its own one time in ten."""
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    class SampledOnlyAsyncPG(AsyncPGInstrumentor):  # type: ignore[misc]
        async def _do_execute(self, func: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            if not _in_sampled_trace():
                return await func(*args, **kwargs)
            return await super()._do_execute(func, instance, args, kwargs)

        async def _do_cursor_execute(self, func: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            if not _in_sampled_trace():
                return await func(*args, **kwargs)
            return await super()._do_cursor_execute(func, instance, args, kwargs)

        async def _do_prepared_execute(self, func: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            if not _in_sampled_trace():
                return await func(*args, **kwargs)
            return await super()._do_prepared_execute(func, instance, args, kwargs)

    return SampledOnlyAsyncPG()


def _instrument_libraries() -> None:
    from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor, HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    # httpx for provider calls; httpx2 is what openai 3.x uses; redis for shared limits.
    for instrumentor in (
        _statements_in_sampled_traces(),
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
