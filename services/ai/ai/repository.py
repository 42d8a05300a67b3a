"""The only module of the ai service that builds SQL."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ai.models import Call


class CallRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, call: Call) -> None:
        self.session.add(call)
        await self.session.flush()
