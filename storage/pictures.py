"""Pictures the bot sends by URL (Viber fetches each from the bot's server), kept in the database.

Every process of the bot on one database serves every picture, whichever of them drew it, so a load
balancer may send Viber's fetch anywhere, and a restart loses none. A picture is kept ``PICTURES_KEPT``
after it was sent (Viber fetches it when the message goes out; a phone may fetch it again later), then
removed when a later picture is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.events import ChatRef
from storage.models import PictureRow
from storage.uow import SqlUnitOfWork

PICTURES_KEPT = timedelta(days=7)


class SqlPictures:
    def __init__(self, uow_factory: Callable[[], SqlUnitOfWork], reader: AsyncEngine,
                 clock: Callable[[], datetime]) -> None:
        """``reader``: the engine made read-only (storage/database.py's read_only), so that on SQLite a fetch
        waits for no writer and no writer for it."""
        self._uow_factory = uow_factory
        self._reader = reader
        self._clock = clock

    async def put(self, name: str, png: bytes, receiver: ChatRef) -> None:
        """Keep a picture under a name nobody can guess (the caller's), and drop those kept long enough; the
        receiver's forget-me deletes it sooner (storage/uow.py)."""
        now = self._clock()
        async with self._uow_factory() as uow:
            uow.session.add(PictureRow(name=name, channel=receiver.channel, external_id=receiver.chat_id, png=png,
                                       created_at=now))
            await uow.session.execute(delete(PictureRow).where(PictureRow.created_at < now - PICTURES_KEPT))
            await uow.commit()

    async def get(self, name: str) -> bytes | None:
        async with self._reader.connect() as connection:
            png = (await connection.execute(select(PictureRow.png).where(PictureRow.name == name))).scalar()
        return None if png is None else bytes(png)
