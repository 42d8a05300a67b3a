from __future__ import annotations

import notify
from kit import service
from notify.config import Settings
from notify.server import serve


def main() -> int:
    return service.run("notify", Settings, serve, notify.__file__)


if __name__ == "__main__":
    raise SystemExit(main())
