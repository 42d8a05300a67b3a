from __future__ import annotations

from kit.errors import InvalidArgument
from kit.errors import MissingField as MissingField  # shared by every service
from kit.errors import NotAUuid as NotAUuid


class BadValue(InvalidArgument):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
