from __future__ import annotations

from kit.errors import FailedPrecondition, InvalidArgument, NotFound
from kit.errors import MissingField as MissingField  # shared by every service
from kit.errors import NotAUuid as NotAUuid


class BadField(InvalidArgument):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")


class DeliveryNotFound(NotFound):
    def __init__(self, delivery_id: str) -> None:
        super().__init__(f"delivery {delivery_id} not found")


class NotReplayable(FailedPrecondition):
    def __init__(self, delivery_id: str, status: str) -> None:
        super().__init__(
            f"delivery {delivery_id} is {status}: only dead or failed deliveries can be replayed"
        )
