"""The one service function around the conversation: lock, load, step, save, commit."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from core.conversation import Conversation, Turn
from core.domain import SupplierSpec
from core.events import ButtonPressed, ChatRef, Inbound, PhotoReceived, Reply, Text, encode_replies
from core.ports import Claim, PhotoStore, UnitOfWork
from core.resident_locks import ResidentLocks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What to send back, in whose language; empty when the event was handled before."""

    chat: ChatRef
    language: str
    replies: tuple[Reply, ...]
    duplicate: bool = False
    outbox_id: int | None = None  # where the replies wait until the channel says they were sent
    origin: str = ""  # the message whose button was pressed, as the platform names it
    notice: Text | None = None  # a short word on that button, for channels that can show one
    takes_text: bool = False  # the step the resident is on now takes typed text (a value, not a button's number)
    discard: tuple[str, ...] = ()  # kept photos the step let go: removed once it is committed


class Deferred(Exception):
    """Not tried: an earlier event of the same resident failed, and steps must run in order."""


class ConversationService:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        conversation: Conversation,
        suppliers: Mapping[str, SupplierSpec],
        clock: Callable[[], datetime],
        timezone: ZoneInfo,
        photos: PhotoStore | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._conversation = conversation
        self._suppliers = suppliers
        self._clock = clock
        self._tz = timezone
        self._photos = photos
        self.locks = ResidentLocks()

    async def handle(self, event: Inbound, *, inbound_id: str | None = None, outbox: bool = False,
                     claim: Claim | None = None) -> Outcome:
        """Run one step for the event's resident, exactly once per ``inbound_id`` when given.

        Steps of one resident run one at a time; the unit of work also locks the resident's row,
        so several processes serialise the same way. With ``outbox``, the replies are stored in the
        same transaction, to be sent (again, after a crash) until the channel confirms them.
        """
        chat = event.chat
        async with self.locks.hold((chat.channel, chat.chat_id)):
            async with self._uow_factory() as uow:
                outcome = await self._step(uow, event, inbound_id, outbox, claim)
                await uow.commit()
        await self._discard([outcome])
        return outcome

    async def handle_batch(self, items: list[tuple[Inbound, str]], *, outbox: bool = True,
                           claim: Claim | None = None,
                           give_up: Callable[[Exception], bool] = lambda exc: False) -> list[Outcome | Exception]:
        """Several recorded events in one transaction, in order; one commit for all of them.

        A busy bot spends its database time on commits and round trips, not on steps: batching
        them is what lets SQLite keep up. Should any step fail, the batch is rolled back and each
        event is handled on its own, so one bad event costs the others nothing — unless ``give_up``
        says the failure was not the events' (the database is down): then each gets that error. After
        an event fails on its own, the later events of the same resident are ``Deferred``, so that
        one resident's steps never run out of order.
        """
        keys = sorted({(e.chat.channel, e.chat.chat_id) for e, _ in items})
        try:
            async with AsyncExitStack() as held:
                for key in keys:  # always in the same order: two batches cannot deadlock
                    await held.enter_async_context(self.locks.hold(key))
                async with self._uow_factory() as uow:
                    await uow.residents.prefetch([e.chat for e, _ in items])
                    await uow.inbox.prefetch(items[0][0].chat.channel, [i for _, i in items])
                    outcomes: list[Outcome | Exception] = [
                        await self._step(uow, event, inbound_id, outbox, claim) for event, inbound_id in items
                    ]
                    await uow.commit()
                await self._discard(outcomes)
                return outcomes
        except Exception as exc:
            if len(items) == 1 or give_up(exc):
                return [exc] * len(items)
            log.warning("a batch of %d events failed; handling them one by one", len(items))
        results: list[Outcome | Exception] = []
        failed: set[ChatRef] = set()
        for event, inbound_id in items:
            if event.chat in failed:
                results.append(Deferred())
                continue
            try:
                results.append(await self.handle(event, inbound_id=inbound_id, outbox=outbox, claim=claim))
            except Exception as exc:
                results.append(exc)
                failed.add(event.chat)
        return results

    async def _discard(self, outcomes: list[Outcome] | list[Outcome | Exception]) -> None:
        """Photos that committed steps let go. Should removing one fail, no record names it any more: the
        daily purge removes such files (bot/photos/purge.py)."""
        photos = self._photos
        if photos is None:
            return
        for name in (n for o in outcomes if isinstance(o, Outcome) for n in o.discard):
            try:
                await photos.delete(name)
            except Exception as exc:
                log.error("removing a photo failed (%s); the purge removes it", exc.__class__.__name__)

    async def set_aside(self, channel: str, inbound_id: str, chat: ChatRef | None, error: str, attempts: int,
                        claim: Claim | None = None) -> Outcome | None:
        """An event that could not be handled: kept aside, and its resident told, in their language."""
        async with self._uow_factory() as uow:
            await uow.inbox.set_aside(channel, inbound_id, error, attempts, self._clock())
            outcome = None
            if chat is not None:
                try:
                    language = (await uow.residents.get_or_create(chat)).language
                except ValueError:  # the stored state itself may be what failed
                    language = "uk"
                replies = (Reply(Text("error_try_again")),)
                outbox_id = await uow.outbox.add(chat, language, encode_replies(replies), self._clock(), claim)
                outcome = Outcome(chat, language, replies, outbox_id=outbox_id)
            await uow.commit()
        return outcome

    async def _step(self, uow: UnitOfWork, event: Inbound, inbound_id: str | None, outbox: bool,
                    claim: Claim | None = None) -> Outcome:
        chat = event.chat
        if inbound_id is not None and not await uow.inbox.mark_handled(chat.channel, inbound_id, self._clock()):
            # handled before: a photo fetched again for it is not kept twice
            again = (event.photo,) if isinstance(event, PhotoReceived) and event.photo else ()
            return Outcome(chat, "uk", (), duplicate=True, discard=again)
        resident = await uow.residents.get_or_create(chat)
        resident.reachable = True  # writing to the bot makes a resident reachable again
        turn = Turn(resident=resident, uow=uow, now=self._clock().astimezone(self._tz), suppliers=self._suppliers,
                    channel=chat.channel)
        await self._conversation.handle(turn, event)
        if not turn.session.get("forgotten"):
            # state that does not survive JSON fails here, not after a restart
            resident.session = json.loads(json.dumps(resident.session))
            await uow.residents.save(resident)
        for resident_id, reply in turn.told:  # always through the outbox: they may be on another channel
            contact = await uow.residents.contact(resident_id)
            if contact is not None:
                await uow.outbox.add(contact[0], contact[1], encode_replies((reply,)), self._clock())
        replies = tuple(turn.replies)
        origin = event.origin if isinstance(event, ButtonPressed) else ""
        outbox_id = None
        if outbox and replies:
            body = encode_replies(replies, origin=origin, notice=turn.notice)
            outbox_id = await uow.outbox.add(chat, resident.language, body, self._clock(), claim)
        return Outcome(chat, resident.language, replies, outbox_id=outbox_id, origin=origin, notice=turn.notice,
                       takes_text=self._conversation.takes_text(turn.step), discard=tuple(turn.discard))
