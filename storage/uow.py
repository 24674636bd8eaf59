"""The unit of work and repositories behind the core's ports."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, exists, func, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement

from core.domain import Account, Meter, Reading, ReadingKind, ReadingStatus
from core.events import ChatRef
from core.periods import Period
from core.ports import Claim, FailedRow, PendingReplies, Receipt, Resident, Submission, UnitOfWork
from storage.kept_store import SqlKeptReadings
from storage.payments_store import SqlPayments
from storage.reminder_store import SqlReminderCampaigns
from storage.upsert import insert_ignoring_conflict, rows_affected
from storage.models import (
    AccountRow,
    InboundEventRow,
    LinkFailureRow,
    LinkLockRow,
    LinkRow,
    MeterRow,
    OutboxRow,
    PhotoRow,
    PictureRow,
    ReadingRow,
    ReminderPreferenceRow,
    ResidentRow,
    SubmissionRow,
)

_OPEN = (ReadingStatus.ACCEPTED.value, ReadingStatus.PENDING.value)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def to_meter(row: MeterRow) -> Meter:
    return Meter(row.id, row.account_id, row.serial, row.service, row.zone, row.last_reading,
                 row.last_reading_date, row.verification_due)


def to_account(row: AccountRow, meters: list[MeterRow]) -> Account:
    return Account(row.id, row.supplier, row.number, row.address, row.apartment, row.last_payment,
                   tuple(to_meter(m) for m in meters))


def to_reading(row: ReadingRow, submission: SubmissionRow) -> Reading:
    return Reading(row.meter_id, Period.parse(row.period), row.value, row.previous_value, row.consumption,
                   ReadingKind(row.kind), ReadingStatus(row.status), row.submitted_at, submission.channel,
                   submission.reference, row.accepted_at, submission.resident_id, new_serial=row.new_serial,
                   new_installed=row.new_installed, new_start=row.new_start)


class SqlResidents:
    """Residents as ORM rows held for the transaction: a batch of steps writes them in one flush."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session
        self._rows: dict[ChatRef, ResidentRow] = {}
        self._created: set[ChatRef] = set()

    async def prefetch(self, chats: list[ChatRef]) -> None:
        wanted = [c for c in dict.fromkeys(chats) if c not in self._rows]
        if not wanted:
            return
        rows = (await self._s.execute(
            select(ResidentRow).where(tuple_(ResidentRow.channel, ResidentRow.external_id).in_(
                [(c.channel, c.chat_id) for c in wanted])).order_by(ResidentRow.id).with_for_update()
        )).scalars()
        for row in rows:
            self._rows[ChatRef(row.channel, row.external_id)] = row
        missing = [c for c in wanted if c not in self._rows]
        if not missing:
            return
        now = now_utc()
        if len(missing) == 1:
            # a lone new resident may race another process: the upsert settles it without an error
            chat = missing[0]
            self._created.update(missing if await insert_ignoring_conflict(self._s, ResidentRow, dict(
                channel=chat.channel, external_id=chat.chat_id, language="uk", reachable=True, session="{}",
                created_at=now, updated_at=now)) else [])
            row = (await self._s.execute(select(ResidentRow).where(
                ResidentRow.channel == chat.channel, ResidentRow.external_id == chat.chat_id).with_for_update()
            )).scalar_one()
            self._rows[chat] = row
            return
        for chat in missing:
            row = ResidentRow(channel=chat.channel, external_id=chat.chat_id, language="uk", reachable=True,
                              session="{}", created_at=now, updated_at=now)
            self._s.add(row)
            self._rows[chat] = row
            self._created.add(chat)
        await self._s.flush()

    async def get_or_create(self, chat: ChatRef) -> Resident:
        if chat not in self._rows:
            await self.prefetch([chat])
        row = self._rows[chat]
        return Resident(row.id, chat, row.language, row.reachable, json.loads(row.session),
                        is_new=chat in self._created)

    async def save(self, resident: Resident) -> None:
        row = self._rows[resident.chat]
        row.language = resident.language
        row.reachable = resident.reachable
        row.session = json.dumps(resident.session, ensure_ascii=False)
        row.updated_at = now_utc()

    async def forget(self, resident_id: int) -> None:
        for chat, row in list(self._rows.items()):
            if row.id == resident_id:
                self._s.expunge(row)
                del self._rows[chat]
                self._created.discard(chat)
        await self._s.execute(update(SubmissionRow).where(SubmissionRow.resident_id == resident_id)
                              .values(resident_id=None))
        await self._s.execute(delete(LinkRow).where(LinkRow.resident_id == resident_id))
        await self._s.execute(delete(ReminderPreferenceRow).where(ReminderPreferenceRow.resident_id == resident_id))
        await self._s.execute(delete(PictureRow).where(tuple_(PictureRow.channel, PictureRow.external_id).in_(
            select(ResidentRow.channel, ResidentRow.external_id).where(ResidentRow.id == resident_id))))
        await self._s.execute(delete(ResidentRow).where(ResidentRow.id == resident_id))

    async def contact(self, resident_id: int) -> tuple[ChatRef, str] | None:
        row = (await self._s.execute(select(ResidentRow.channel, ResidentRow.external_id, ResidentRow.language)
                                     .where(ResidentRow.id == resident_id))).first()
        return (ChatRef(row[0], row[1]), row[2]) if row else None

    async def set_reachable(self, chat: ChatRef, reachable: bool) -> None:
        if chat in self._rows:
            self._rows[chat].reachable = reachable
        await self._s.execute(update(ResidentRow).where(
            ResidentRow.channel == chat.channel, ResidentRow.external_id == chat.chat_id).values(reachable=reachable))


class SqlAccounts:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def _with_meters(self, rows: list[AccountRow]) -> list[Account]:
        if not rows:
            return []
        meters = (await self._s.execute(
            select(MeterRow).where(MeterRow.account_id.in_([r.id for r in rows]), MeterRow.retired_at.is_(None))
            .order_by(MeterRow.id)
        )).scalars().all()
        return [to_account(r, [m for m in meters if m.account_id == r.id]) for r in rows]

    async def by_ids(self, account_ids: list[int]) -> list[Account]:
        rows = (await self._s.execute(select(AccountRow).where(AccountRow.id.in_(set(account_ids))))).scalars().all()
        return await self._with_meters(list(rows))

    async def find(self, supplier: str, number: str) -> Account | None:
        row = (await self._s.execute(
            select(AccountRow).where(AccountRow.supplier == supplier, AccountRow.number == number)
        )).scalar_one_or_none()
        return (await self._with_meters([row]))[0] if row else None

    async def linked(self, resident_id: int) -> list[Account]:
        rows = (await self._s.execute(
            select(AccountRow).join(LinkRow, LinkRow.account_id == AccountRow.id)
            .where(LinkRow.resident_id == resident_id).order_by(LinkRow.id)
        )).scalars().all()
        return await self._with_meters(list(rows))

    async def link(self, resident_id: int, account_id: int, at: datetime) -> bool:
        return await insert_ignoring_conflict(self._s, LinkRow, dict(
            resident_id=resident_id, account_id=account_id, created_at=at))

    async def unlink(self, resident_id: int, account_id: int) -> None:
        await self._s.execute(delete(LinkRow).where(LinkRow.resident_id == resident_id,
                                                    LinkRow.account_id == account_id))


class SqlLinkAttempts:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def failures_since(self, supplier: str, number: str, since: datetime) -> int:
        return int((await self._s.execute(select(func.count()).select_from(LinkFailureRow).where(
            LinkFailureRow.supplier == supplier, LinkFailureRow.number == number, LinkFailureRow.at > since
        ))).scalar_one())

    async def record_failure(self, supplier: str, number: str, at: datetime) -> None:
        self._s.add(LinkFailureRow(supplier=supplier, number=number, at=at))
        await self._s.flush()

    async def locked_until(self, supplier: str, number: str) -> datetime | None:
        return (await self._s.execute(select(LinkLockRow.locked_until).where(
            LinkLockRow.supplier == supplier, LinkLockRow.number == number))).scalar_one_or_none()

    async def lock(self, supplier: str, number: str, until: datetime) -> None:
        await self._s.merge(LinkLockRow(supplier=supplier, number=number, locked_until=until))
        await self._s.flush()


class SqlReadings:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    def _accepted(self, meter_id: int) -> Any:
        return select(ReadingRow, SubmissionRow).join(SubmissionRow).where(
            ReadingRow.meter_id == meter_id, ReadingRow.status == ReadingStatus.ACCEPTED.value)

    async def previous(self, meter_id: int, before: Period) -> Reading | None:
        row = (await self._s.execute(
            self._accepted(meter_id).where(ReadingRow.period < str(before)).order_by(ReadingRow.period.desc()).limit(1)
        )).first()
        return to_reading(row[0], row[1]) if row else None

    async def recent_consumption(self, meter_id: int, before: Period, count: int) -> list[Decimal]:
        rows = (await self._s.execute(
            select(ReadingRow.consumption).where(
                ReadingRow.meter_id == meter_id, ReadingRow.status == ReadingStatus.ACCEPTED.value,
                ReadingRow.period < str(before), ReadingRow.consumption.is_not(None),
            ).order_by(ReadingRow.period.desc()).limit(count)
        )).scalars().all()
        return [r for r in rows if r is not None]

    async def in_period(self, meter_ids: list[int], period: Period) -> list[Reading]:
        rows = (await self._s.execute(
            select(ReadingRow, SubmissionRow).join(SubmissionRow).where(
                ReadingRow.meter_id.in_(meter_ids), ReadingRow.period == str(period), ReadingRow.status.in_(_OPEN))
        )).all()
        return [to_reading(r, s) for r, s in rows]

    async def submit(self, submission: Submission) -> int:
        period = str(submission.period)
        replaced = 0
        for reading in submission.readings:
            result = await self._s.execute(update(ReadingRow).where(
                ReadingRow.meter_id == reading.meter_id, ReadingRow.period == period, ReadingRow.status.in_(_OPEN)
            ).values(status=ReadingStatus.REPLACED.value))
            replaced += rows_affected(result)
        row = SubmissionRow(reference=submission.reference, account_id=submission.account_id,
                            resident_id=submission.resident_id, period=period, channel=submission.channel,
                            submitted_at=submission.submitted_at)
        self._s.add(row)
        await self._s.flush()
        accepted = submission.status is ReadingStatus.ACCEPTED
        self._s.add_all(
            ReadingRow(submission_id=row.id, meter_id=r.meter_id, period=period, value=r.value,
                       previous_value=r.previous_value, consumption=r.consumption, kind=r.kind.value,
                       status=submission.status.value, evidence=r.evidence, submitted_at=submission.submitted_at,
                       accepted_at=submission.submitted_at if accepted else None, new_serial=r.new_serial,
                       new_installed=r.new_installed, new_start=r.new_start)
            for r in submission.readings
        )
        await self._s.flush()
        return replaced

    async def history(self, meter_id: int, periods: int) -> list[Reading]:
        rows = (await self._s.execute(
            self._accepted(meter_id).order_by(ReadingRow.period.desc()).limit(periods))).all()
        return [to_reading(r, s) for r, s in rows]

    async def submissions(self, resident_id: int | None, account_ids: list[int], limit: int) -> list[Receipt]:
        # never "resident_id IS NULL": that would show every forgotten resident's submissions
        whose = ([SubmissionRow.resident_id == resident_id] if resident_id is not None else []) + (
            [SubmissionRow.account_id.in_(account_ids)] if account_ids else [])
        if not whose:
            return []
        rows = (await self._s.execute(select(SubmissionRow).where(or_(*whose)).order_by(
            SubmissionRow.submitted_at.desc(), SubmissionRow.id.desc()).limit(limit))).scalars().all()
        return await self._receipts(list(rows))

    async def by_reference(self, reference: str) -> Receipt | None:
        row = (await self._s.execute(
            select(SubmissionRow).where(SubmissionRow.reference == reference))).scalar_one_or_none()
        return (await self._receipts([row]))[0] if row else None

    async def _receipts(self, submissions: list[SubmissionRow]) -> list[Receipt]:
        if not submissions:
            return []
        readings = (await self._s.execute(select(ReadingRow).where(
            ReadingRow.submission_id.in_([s.id for s in submissions])).order_by(ReadingRow.id))).scalars().all()
        accounts = {a.id: a for a in await SqlAccounts(self._s).by_ids([s.account_id for s in submissions])}
        return [Receipt(s.reference, accounts[s.account_id], s.resident_id, Period.parse(s.period), s.submitted_at,
                        tuple(to_reading(r, s) for r in readings if r.submission_id == s.id))
                for s in submissions]


class SqlReminderPreferences:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def disabled(self, resident_id: int) -> set[str]:
        rows = (await self._s.execute(select(ReminderPreferenceRow.supplier).where(
            ReminderPreferenceRow.resident_id == resident_id, ReminderPreferenceRow.enabled.is_(False)))).scalars()
        return set(rows)

    async def set_enabled(self, resident_id: int, supplier: str, enabled: bool) -> None:
        await self._s.merge(ReminderPreferenceRow(resident_id=resident_id, supplier=supplier, enabled=enabled))
        await self._s.flush()


class SqlInbox:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session
        # per event of this transaction: "fresh" (marked handled here, not yet stepped), "done" (handled
        # before, or stepped), "absent" (never recorded)
        self._state: dict[tuple[str, str], str] = {}

    async def prefetch(self, channel: str, event_ids: list[str]) -> None:
        """Mark the batch's events handled in one statement (undone with the transaction should it fail)."""
        wanted = [e for e in dict.fromkeys(event_ids) if (channel, e) not in self._state]
        if not wanted:
            return
        row = InboundEventRow
        taken = set((await self._s.execute(update(row).where(
            row.channel == channel, row.event_id.in_(wanted), row.handled_at.is_(None)
        ).values(handled_at=now_utc(), payload=None, chat=None).returning(row.event_id))).scalars())  # personal data
        rest = [e for e in wanted if e not in taken]
        known: set[str] = set()
        if rest:
            known = set((await self._s.execute(select(row.event_id).where(
                row.channel == channel, row.event_id.in_(rest)))).scalars())
        for e in wanted:
            self._state[(channel, e)] = "fresh" if e in taken else "done" if e in known else "absent"

    async def record_many(self, channel: str, events: list[tuple[str, str]], at: datetime,
                          claim: Claim | None = None, chats: Mapping[str, str] | None = None) -> set[str]:
        fresh: dict[str, str] = {}
        for event_id, payload in events:
            fresh.setdefault(event_id, payload)  # the same update twice in one batch: the first is kept
        if not fresh:
            return set()
        dialect = self._s.bind.dialect.name if self._s.bind else "sqlite"
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        owner, until = (claim.owner, claim.until) if claim else (None, None)
        # one round trip: the ids that were inserted come back, a redelivery's does not
        inserted = await self._s.execute(insert(InboundEventRow).values([
            dict(channel=channel, event_id=e, payload=p, chat=(chats or {}).get(e), received_at=at, claimed_by=owner,
                 claimed_until=until, attempts=0) for e, p in fresh.items()
        ]).on_conflict_do_nothing().returning(InboundEventRow.event_id))
        return set(inserted.scalars())

    async def mark_handled(self, channel: str, event_id: str, at: datetime) -> bool:
        key = (channel, event_id)
        if key not in self._state:
            await self.prefetch(channel, [event_id])
        state, self._state[key] = self._state[key], "done"
        if state == "absent":
            # handled without having been recorded (the console, tests): remembered all the same
            self._s.add(InboundEventRow(channel=channel, event_id=event_id, payload=None, received_at=at,
                                        handled_at=at, attempts=0))
        return state != "done"

    async def waiting(self, channel: str, chats: list[str]) -> list[tuple[str, str]]:
        row = InboundEventRow
        if not chats:
            return []
        rows = await self._s.execute(select(row.chat, row.event_id).where(
            row.channel == channel, row.chat.in_(set(chats)), row.handled_at.is_(None), row.failed_at.is_(None)
        ).order_by(row.id))
        return [(chat or "", event_id) for chat, event_id in rows]

    async def claim(self, channel: str, claim: Claim, now: datetime, limit: int) -> list[tuple[str, str]]:
        row = InboundEventRow
        ids = await _take(self._s, row, claim, now, limit,
                          row.channel == channel, row.handled_at.is_(None), row.failed_at.is_(None))
        if not ids:
            return []
        rows = (await self._s.execute(select(row.event_id, row.payload).where(row.id.in_(ids)).order_by(row.id))).all()
        return [(e, p or "") for e, p in rows]

    async def set_aside(self, channel: str, event_id: str, error: str, attempts: int, at: datetime) -> None:
        await self._s.execute(update(InboundEventRow).where(
            InboundEventRow.channel == channel, InboundEventRow.event_id == event_id
        ).values(failed_at=at, error=error[:80], attempts=attempts, claimed_by=None, claimed_until=None))

    async def failed(self, limit: int) -> list[FailedRow]:
        row = InboundEventRow
        rows = (await self._s.execute(select(row.event_id, row.channel, row.received_at, row.failed_at, row.attempts,
                                             row.error).where(row.failed_at.is_not(None))
                                      .order_by(row.id).limit(limit))).all()
        return [FailedRow(e, c, r, f or r, a, err or "") for e, c, r, f, a, err in rows]

    async def renew(self, claim: Claim, event_ids: list[str]) -> None:
        await _renew(self._s, InboundEventRow, InboundEventRow.event_id, claim, event_ids)

    async def release(self, owner: str) -> None:
        await _give_back(self._s, InboundEventRow, owner)

    async def release_all(self) -> None:
        """SQLite serves from one process: at start, whatever was claimed belonged to a dead one."""
        await _give_back(self._s, InboundEventRow, None)


Queued = type[InboundEventRow] | type[OutboxRow]


async def _take(session: AsyncSession, model: Queued, claim: Claim, now: datetime, limit: int,
                *where: ColumnElement[bool]) -> list[int]:
    """Rows nobody holds (or whose holder's claim lapsed), oldest first, now held by ``claim``; their ids.

    ``SKIP LOCKED``: on PostgreSQL two processes claiming at once never take the same row.
    """
    ids = list((await session.execute(select(model.id).where(
        *where, or_(model.claimed_until.is_(None), model.claimed_until < now),
    ).order_by(model.id).limit(limit).with_for_update(skip_locked=True))).scalars())
    if ids:
        await session.execute(update(model).where(model.id.in_(ids)).values(claimed_by=claim.owner,
                                                                            claimed_until=claim.until))
    return ids


async def _renew(session: AsyncSession, model: Queued, key: Any, claim: Claim, keys: Sequence[object]) -> None:
    """Extend ``claim.owner``'s claims on these rows, a few hundred per statement."""
    for start in range(0, len(keys), 500):
        await session.execute(update(model).where(model.claimed_by == claim.owner, key.in_(keys[start:start + 500]))
                              .values(claimed_until=claim.until))


async def _give_back(session: AsyncSession, model: Queued, owner: str | None) -> None:
    """Claims of ``owner`` (of anyone, when None) end now."""
    held = model.claimed_by == owner if owner is not None else model.claimed_by.is_not(None)
    await session.execute(update(model).where(held).values(claimed_by=None, claimed_until=None))


class _OutboxIds:
    """Ids that grow with wall-clock time (microseconds, and ten random bits against other processes)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        candidate = (time.time_ns() // 1000) << 10 | secrets.randbits(10)
        self._last = max(candidate, self._last + 1)
        return self._last


_outbox_ids = _OutboxIds()


class SqlOutbox:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, chat: ChatRef, language: str, body: str, at: datetime, claim: Claim | None = None) -> int:
        # the id is made here, so the row can wait for the transaction's one flush
        row = OutboxRow(id=_outbox_ids.next(), channel=chat.channel, chat_id=chat.chat_id, language=language,
                        body=body, created_at=at, status="pending", progress=0, attempts=0,
                        claimed_by=claim.owner if claim else None, claimed_until=claim.until if claim else None)
        self._s.add(row)
        return row.id

    async def done(self, ids: list[int]) -> None:
        await self._s.execute(delete(OutboxRow).where(OutboxRow.id.in_(ids)))

    async def claim(self, channel: str, claim: Claim, now: datetime, limit: int) -> list[PendingReplies]:
        row, older = OutboxRow, aliased(OutboxRow)
        # not behind an older reply of the same chat that another live process is still sending
        held_before = exists().where(older.channel == row.channel, older.chat_id == row.chat_id,
                                     older.status == "pending", older.id < row.id, older.claimed_until >= now,
                                     older.claimed_by != claim.owner)
        ids = await _take(self._s, row, claim, now, limit, row.channel == channel, row.status == "pending",
                          ~held_before)
        return await self._read(row.id.in_(ids)) if ids else []

    async def _read(self, where: Any, limit: int | None = None) -> list[PendingReplies]:
        row = OutboxRow
        query = select(row.id, row.channel, row.chat_id, row.language, row.body, row.progress, row.attempts,
                       row.created_at, row.retried_at).where(where).order_by(row.id)
        rows = (await self._s.execute(query if limit is None else query.limit(limit))).all()
        return [PendingReplies(i, ChatRef(c, chat), lang, body, progress, attempts, retried or created)
                for i, c, chat, lang, body, progress, attempts, created, retried in rows]

    async def record_attempt(self, row_id: int, progress: int, error: str) -> None:
        await self._s.execute(update(OutboxRow).where(OutboxRow.id == row_id).values(
            progress=progress, attempts=OutboxRow.attempts + 1, error=error[:80]))

    async def set_aside(self, row_id: int, error: str, at: datetime, progress: int | None = None) -> None:
        kept = {} if progress is None else {"progress": progress}
        await self._s.execute(update(OutboxRow).where(OutboxRow.id == row_id).values(
            status="failed", error=error[:80], failed_at=at, claimed_by=None, claimed_until=None, **kept))

    async def failed(self, limit: int) -> list[FailedRow]:
        row = OutboxRow
        rows = (await self._s.execute(select(row.id, row.channel, row.created_at, row.failed_at, row.attempts,
                                             row.error).where(row.status == "failed").order_by(row.id)
                                      .limit(limit))).all()
        return [FailedRow(str(i), c, created, f or created, a, err or "") for i, c, created, f, a, err in rows]

    async def retry(self, ids: list[int] | None, at: datetime) -> int:
        where = [OutboxRow.status == "failed"] + ([OutboxRow.id.in_(ids)] if ids is not None else [])
        result = await self._s.execute(update(OutboxRow).where(*where).values(
            status="pending", failed_at=None, attempts=0, retried_at=at, claimed_by=None, claimed_until=None))
        return rows_affected(result)

    async def renew(self, claim: Claim, ids: list[int]) -> None:
        await _renew(self._s, OutboxRow, OutboxRow.id, claim, ids)

    async def release(self, owner: str) -> None:
        await _give_back(self._s, OutboxRow, owner)

    async def release_all(self) -> None:
        await _give_back(self._s, OutboxRow, None)

    async def pending(self, channel: str, limit: int) -> list[PendingReplies]:
        return await self._read((OutboxRow.channel == channel) & (OutboxRow.status == "pending"), limit)


_HANDED_IN = (ReadingStatus.ACCEPTED.value, ReadingStatus.REPLACED.value)  # a supplier has had these


class SqlPhotos:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, name: str, resident_id: int, at: datetime) -> None:
        self._s.add(PhotoRow(name=name, resident_id=resident_id, received_at=at))
        await self._s.flush()

    async def known(self, names: list[str]) -> set[str]:
        if not names:
            return set()
        return set((await self._s.scalars(select(PhotoRow.name).where(PhotoRow.name.in_(names)))).all())

    async def forget(self, resident_id: int) -> list[str]:
        handed_in = exists().where(ReadingRow.evidence == PhotoRow.name, ReadingRow.status.in_(_HANDED_IN))
        doomed = list((await self._s.scalars(select(PhotoRow.name).where(
            PhotoRow.resident_id == resident_id, ~handed_in))).all())
        await self.remove(doomed)
        await self._s.execute(update(PhotoRow).where(PhotoRow.resident_id == resident_id).values(resident_id=None))
        return doomed

    async def expired(self, readings_before: datetime, loose_before: datetime, limit: int) -> list[str]:
        old_reading = exists().where(ReadingRow.evidence == PhotoRow.name, ReadingRow.submitted_at < readings_before)
        any_reading = exists().where(ReadingRow.evidence == PhotoRow.name)
        return list((await self._s.scalars(select(PhotoRow.name).where(
            old_reading | ((PhotoRow.received_at < loose_before) & ~any_reading)).order_by(PhotoRow.id).limit(limit)
        )).all())

    async def remove(self, names: list[str]) -> None:
        for chunk in (names[i:i + 500] for i in range(0, len(names), 500)):
            await self._s.execute(update(ReadingRow).where(ReadingRow.evidence.in_(chunk)).values(evidence=None))
            await self._s.execute(delete(PhotoRow).where(PhotoRow.name.in_(chunk)))


class SqlUnitOfWork:
    """One transaction. On SQLite it holds the write lock from its first statement to its end."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], write_lock: asyncio.Lock | None = None) -> None:
        self._sessions = sessions
        self._write_lock = write_lock

    async def __aenter__(self) -> SqlUnitOfWork:
        if self._write_lock is not None:
            # SQLite has one writer at a time; waiting here is cheaper than SQLite's busy-sleep loop
            await self._write_lock.acquire()
        self.session = self._sessions()
        self.inbox = SqlInbox(self.session)
        self.outbox = SqlOutbox(self.session)
        self.residents = SqlResidents(self.session)
        self.accounts = SqlAccounts(self.session)
        self.link_attempts = SqlLinkAttempts(self.session)
        self.readings = SqlReadings(self.session)
        self.kept = SqlKeptReadings(self.session)
        self.reminders = SqlReminderPreferences(self.session)
        self.campaigns = SqlReminderCampaigns(self.session)
        self.payments = SqlPayments(self.session)
        self.photos = SqlPhotos(self.session)
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.session.rollback()
            await self.session.close()
        finally:
            if self._write_lock is not None:
                self._write_lock.release()

    async def commit(self) -> None:
        await self.session.commit()


def _implements_the_port(uow: SqlUnitOfWork) -> UnitOfWork:
    """Never called: mypy checks here that this unit of work and each repository implement the core's ports."""
    return uow
