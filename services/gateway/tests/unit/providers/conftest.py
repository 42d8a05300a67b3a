from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

PAYLOADS = Path(__file__).parent / "payloads"
RECEIVED_AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def payload() -> Callable[[str], dict[str, Any]]:
    def load(name: str) -> dict[str, Any]:
        return json.loads((PAYLOADS / f"{name}.json").read_text())

    return load


@pytest.fixture
def received_at() -> datetime:
    return RECEIVED_AT
