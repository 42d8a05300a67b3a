from __future__ import annotations

from kit.errors import InvalidArgument, NotFound


class LeadNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("lead not found")


class MissingField(InvalidArgument):
    def __init__(self, field: str) -> None:
        super().__init__(f"{field} is required")


class NotAUuid(InvalidArgument):
    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{field} {value!r} is not a UUID")
