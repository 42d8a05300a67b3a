from __future__ import annotations

from kit.errors import InvalidArgument


class MissingField(InvalidArgument):
    def __init__(self, field: str) -> None:
        super().__init__(f"{field} is required")


class NotAUuid(InvalidArgument):
    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{field} {value!r} is not a UUID")


class BadValue(InvalidArgument):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
