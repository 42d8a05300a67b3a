from __future__ import annotations

from kit.errors import AlreadyExists, InvalidArgument, NotFound, ResourceExhausted


class TenantNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("tenant not found")


class SlugTaken(AlreadyExists):
    def __init__(self, slug: str) -> None:
        super().__init__(f"slug {slug!r} is already in use")


class InvalidSlug(InvalidArgument):
    def __init__(self, slug: str) -> None:
        super().__init__(
            f"slug {slug!r} is invalid: use lower-case letters and digits separated by single hyphens"
        )


class UnknownNiche(InvalidArgument):
    def __init__(self, niche_id: int) -> None:
        super().__init__(f"niche_id {niche_id} does not exist")


class ChannelNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no active channel matches this provider identity or token")


class TenantLimitReached(ResourceExhausted):
    def __init__(self, hard: int) -> None:
        super().__init__(f"the platform's hard limit of {hard} tenants is reached")
