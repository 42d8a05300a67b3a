"""The README's configuration table names every setting a service reads."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
SERVICES = ("gateway", "tenant", "conversation", "ai", "notify")


def test_every_setting_is_documented():
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", README))
    missing = []
    for service in SERVICES:
        settings = importlib.import_module(f"{service}.config").Settings
        for name in settings.model_fields:
            env = name.upper()
            if env not in documented and not env.endswith("_DATABASE_URL"):
                missing.append(f"{service}: {env}")
    assert not missing, f"settings missing from the README: {missing}"


def test_it_starts_with_the_two_commands():
    first_block = README.split("```", 2)[1]
    assert "make run" in first_block and "make test" in first_block
