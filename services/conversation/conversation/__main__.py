from __future__ import annotations

import conversation
from conversation.config import Settings
from conversation.server import serve
from kit import service


def main() -> int:
    return service.run("conversation", Settings, serve, conversation.__file__)


if __name__ == "__main__":
    raise SystemExit(main())
