from __future__ import annotations

from pydantic import Field

from kit.config import DEFAULT_PORTS, CommonSettings


class Settings(CommonSettings):
    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(default=DEFAULT_PORTS["gateway"], ge=0, le=65535)
    gateway_database_url: str | None = None
    # How long /api/health/detailed reuses its last answer, so probes can't hammer dependencies.
    health_cache_seconds: float = Field(default=1.0, ge=0, le=60)
    health_check_timeout: float = Field(default=2.0, gt=0, le=30)
    # How long a resolved channel (tenant, limits, webhook secrets) is reused without news from the
    # tenant service; the routing epoch, polled every channel_epoch_seconds (0: never), refreshes
    # them as soon as anything they depend on changed.
    channel_cache_seconds: float = Field(default=30.0, ge=0, le=300)
    channel_epoch_seconds: float = Field(default=1.0, ge=0, le=60)
    # Webhook messages stored together in one IngestBatch call (one transaction) at most, how many
    # such calls may be in flight at once, and how many messages must wait before a call overlaps
    # one in flight (a message never waits while none is); see gateway.batcher.
    ingest_batch_max: int = Field(default=128, ge=1, le=1000)
    ingest_batch_inflight: int = Field(default=2, ge=1, le=64)
    ingest_batch_overlap_min: int = Field(default=16, ge=1, le=1000)
    public_base_url: str = Field(default="", description="Base URL providers reach, for webhook URLs")
