"""kit.timestamps gives exactly what Timestamp.FromDatetime gives, for any time a service sends."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from google.protobuf.timestamp_pb2 import Timestamp

from kit.timestamps import timestamp, timestamp_or_empty, timestamp_or_none

ZONES = [UTC, None, timezone(timedelta(hours=-3)), timezone(timedelta(hours=5, minutes=30))]


def test_same_seconds_and_nanos_as_from_datetime() -> None:
    rng = random.Random(2)
    for _ in range(5000):
        naive = datetime(1970, 1, 1) + timedelta(seconds=rng.uniform(-2e9, 4e9))
        zone = rng.choice(ZONES)
        at = naive if zone is None else naive.replace(tzinfo=zone)
        expected = Timestamp()
        expected.FromDatetime(at)
        got = timestamp(at)
        assert (got.seconds, got.nanos) == (expected.seconds, expected.nanos), at


def test_an_unset_time() -> None:
    assert timestamp_or_none(None) is None
    assert timestamp_or_empty(None) == Timestamp()
    at = datetime(2026, 11, 26, 19, 30, 1, 250_000, tzinfo=timezone(timedelta(hours=-3)))
    assert timestamp_or_none(at) == timestamp_or_empty(at) == Timestamp(seconds=1795732201, nanos=250_000_000)
