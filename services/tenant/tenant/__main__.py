from __future__ import annotations

import tenant
from kit import service
from tenant.config import Settings
from tenant.seed import seed
from tenant.server import serve


def main() -> int:
    return service.run("tenant", Settings, serve, tenant.__file__, commands={"seed": seed})


if __name__ == "__main__":
    raise SystemExit(main())
