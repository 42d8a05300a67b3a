"""Shared protobuf helpers for the servicer modules."""

from __future__ import annotations

from kit.timestamps import timestamp_or_empty

timestamp = timestamp_or_empty  # kit.timestamps: one encoding for every service
