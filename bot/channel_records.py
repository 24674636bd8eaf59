"""The small writes both messenger channels make outside a conversation step."""

from __future__ import annotations

from bot.bootstrap import App
from core.events import ChatRef


async def mark_handled(app: App, channel: str, event_ids: list[str]) -> None:
    """Recorded events that need no step (ignored, unreadable, or failed and answered) are done."""
    async with app.uow_factory() as uow:
        await uow.inbox.prefetch(channel, event_ids)
        for event_id in event_ids:
            await uow.inbox.mark_handled(channel, event_id, app.clock())
        await uow.commit()


async def set_reachable(app: App, chat: ChatRef, reachable: bool) -> None:
    async with app.uow_factory() as uow:
        await uow.residents.set_reachable(chat, reachable)
        await uow.commit()
