from __future__ import annotations

import ai
from ai.config import Settings
from ai.server import serve
from kit import service


def main() -> int:
    return service.run("ai", Settings, serve, ai.__file__)


if __name__ == "__main__":
    raise SystemExit(main())
