from __future__ import annotations

from kit.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from kit.errors import MissingField as MissingField  # shared by every service
from kit.errors import NotAUuid as NotAUuid


class LeadNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("lead not found")


class MessageNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("outbound message not found")


class ProviderIdTaken(AlreadyExists):
    def __init__(self) -> None:
        super().__init__("provider_message_id already belongs to another message that is not its echo")


class BadValue(InvalidArgument):
    def __init__(self, field: str, value: str, allowed: tuple[str, ...]) -> None:
        super().__init__(f"{field} {value!r} is not one of {', '.join(allowed)}")


class TooLong(InvalidArgument):
    def __init__(self, field: str, limit: int) -> None:
        super().__init__(f"{field} is longer than {limit} characters")


class BadCursor(InvalidArgument):
    def __init__(self) -> None:
        super().__init__("cursor is not a cursor this API returned")


class LeadOptedOut(FailedPrecondition):
    def __init__(self) -> None:
        super().__init__(
            "the lead opted out of messages (sent an opt-out word); nothing is sent until they opt back in"
        )


class NoConversation(FailedPrecondition):
    def __init__(self) -> None:
        super().__init__("the lead has no conversation yet (no message was ever received)")


class NotASeller(InvalidArgument):
    def __init__(self, user_id: str) -> None:
        super().__init__(f"user_id {user_id!r} is not an active seller of this tenant")
