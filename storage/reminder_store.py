"""What reminder campaigns read and write: who is due, deliveries claimed just before sending, runs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Unpack

from sqlalchemy import Select, and_, exists, func, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from core.domain import ReadingStatus
from core.events import ChatRef
from core.periods import Period
from core.ports import DueResident, MissingMeter, RunState, VerificationDue
from core.reminders import VERIFY_PERIOD, due_page
from storage.models import (
    AccountRow,
    LinkRow,
    MeterRow,
    ReadingRow,
    ReminderDeliveryRow,
    ReminderPreferenceRow,
    ReminderRunRow,
    ResidentRow,
)
from storage.upsert import insert_ignoring_conflict, rows_affected

_OPEN = (ReadingStatus.ACCEPTED.value, ReadingStatus.PENDING.value)


def _due_filter(supplier: str, period: Period, campaign: str, today: date,
                channels: list[str]) -> ColumnElement[bool]:
    """Linked, reachable, reminders on, a meter still missing this period, not yet reminded."""
    return and_(
        ResidentRow.reachable.is_(True),
        ResidentRow.channel.in_(channels),
        AccountRow.supplier == supplier,
        or_(MeterRow.verification_due.is_(None), MeterRow.verification_due >= today),
        not_(exists().where(ReminderPreferenceRow.resident_id == ResidentRow.id,
                            ReminderPreferenceRow.supplier == supplier, ReminderPreferenceRow.enabled.is_(False))),
        not_(exists().where(ReadingRow.meter_id == MeterRow.id, ReadingRow.period == str(period),
                            ReadingRow.status.in_(_OPEN))),
        # reminded (or in flight) already; one whose send must be retried is due again
        not_(exists().where(ReminderDeliveryRow.resident_id == ResidentRow.id,
                            ReminderDeliveryRow.supplier == supplier, ReminderDeliveryRow.period == str(period),
                            ReminderDeliveryRow.campaign == campaign, ReminderDeliveryRow.state != "retry")),
    )


def _joined(columns: list[Any]) -> Select[Unpack[tuple[Any, ...]]]:
    return (select(*columns).select_from(ResidentRow)
            .join(LinkRow, LinkRow.resident_id == ResidentRow.id)
            .join(AccountRow, AccountRow.id == LinkRow.account_id)
            .join(MeterRow, and_(MeterRow.account_id == AccountRow.id, MeterRow.retired_at.is_(None))))


def _delivery(supplier: str, period: Period | str, campaign: str) -> ColumnElement[bool]:
    return and_(ReminderDeliveryRow.supplier == supplier, ReminderDeliveryRow.period == str(period),
                ReminderDeliveryRow.campaign == campaign)


def _run(supplier: str, period: Period, campaign: str) -> ColumnElement[bool]:
    return and_(ReminderRunRow.supplier == supplier, ReminderRunRow.period == str(period),
                ReminderRunRow.campaign == campaign)


class SqlReminderCampaigns:
    """The campaigns' port (core.ports.ReminderCampaigns) on the unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def run_state(self, supplier: str, period: Period, campaign: str) -> RunState | None:
        row = (await self._s.execute(select(ReminderRunRow.started_at, ReminderRunRow.finished_at)
                                     .where(_run(supplier, period, campaign)))).first()
        return RunState(row[0], row[1]) if row else None

    async def start_run(self, supplier: str, period: Period, campaign: str, at: datetime) -> None:
        await insert_ignoring_conflict(self._s, ReminderRunRow, dict(
            supplier=supplier, period=str(period), campaign=campaign, started_at=at, finished_at=None))

    async def finish_run(self, supplier: str, period: Period, campaign: str, at: datetime) -> None:
        await self._s.execute(update(ReminderRunRow).where(_run(supplier, period, campaign)).values(finished_at=at))

    async def settle_in_flight(self, supplier: str, period: Period, campaign: str) -> int:
        """Reminders claimed but not confirmed when a run stopped: maybe sent, never resent. How many."""
        result = await self._s.execute(update(ReminderDeliveryRow).where(
            _delivery(supplier, period, campaign), ReminderDeliveryRow.state == "sending").values(state="lost"))
        return rows_affected(result)

    async def due_residents(self, supplier: str, period: Period, campaign: str, today: date, after: int, limit: int,
                            channels: list[str]) -> list[DueResident]:
        """The next page of residents due for the campaign, after resident id ``after``.

        One query a page, in resident order: memory stays flat however many residents there are.
        """
        connection = await self._s.connection()
        rows = (await connection.execute(
            _joined([ResidentRow.id, ResidentRow.channel, ResidentRow.external_id, ResidentRow.language,
                     AccountRow.id, AccountRow.number, AccountRow.address, AccountRow.apartment, MeterRow.serial,
                     MeterRow.service, MeterRow.zone])
            .where(_due_filter(supplier, period, campaign, today, channels), ResidentRow.id > after)
            .order_by(ResidentRow.id, LinkRow.id, MeterRow.id).limit(limit))).all()
        return due_page([(rid, ChatRef(channel, external), language, account_id, number, address, apartment,
                          MissingMeter(serial, service, zone))
                         for rid, channel, external, language, account_id, number, address, apartment, serial, service,
                         zone in rows],
                        limit)

    async def count_due(self, supplier: str, period: Period, campaign: str, today: date, channels: list[str]) -> int:
        return int((await self._s.execute(_joined([func.count(func.distinct(ResidentRow.id))]).where(
            _due_filter(supplier, period, campaign, today, channels)))).scalar_one())

    async def claim(self, supplier: str, period: Period | str, campaign: str, resident_id: int, at: datetime) -> bool:
        """Claim one reminder as it is about to be sent: new, or one left to retry; False if someone has it."""
        if await insert_ignoring_conflict(self._s, ReminderDeliveryRow, dict(
                resident_id=resident_id, supplier=supplier, period=str(period), campaign=campaign, state="sending",
                created_at=at)):
            return True
        result = await self._s.execute(update(ReminderDeliveryRow).where(
            _delivery(supplier, period, campaign), ReminderDeliveryRow.resident_id == resident_id,
            ReminderDeliveryRow.state == "retry").values(state="sending"))
        return bool(rows_affected(result))

    async def mark(self, supplier: str, period: Period | str, campaign: str, resident_ids: list[int],
                   state: str) -> None:
        if resident_ids:
            await self._s.execute(update(ReminderDeliveryRow).where(
                _delivery(supplier, period, campaign), ReminderDeliveryRow.resident_id.in_(resident_ids)
            ).values(state=state))

    async def retries_left(self, supplier: str, period: Period, campaign: str) -> int:
        return int((await self._s.execute(select(func.count()).select_from(ReminderDeliveryRow).where(
            _delivery(supplier, period, campaign), ReminderDeliveryRow.state == "retry"))).scalar_one())

    async def verifications_due(self, today: date, until: date, channels: list[str]) -> list[VerificationDue]:
        """Meters whose verification lapses soon, per linked reachable resident (warned or not: the
        delivery record decides)."""
        rows = await self._s.execute(
            _joined([ResidentRow.id, ResidentRow.channel, ResidentRow.external_id, ResidentRow.language,
                     AccountRow.supplier, AccountRow.number, MeterRow.id, MeterRow.serial, MeterRow.service,
                     MeterRow.zone, MeterRow.verification_due])
            .where(ResidentRow.reachable.is_(True), ResidentRow.channel.in_(channels),
                   MeterRow.verification_due >= today, MeterRow.verification_due <= until)
            .order_by(ResidentRow.id, MeterRow.id))
        return [VerificationDue(rid, ChatRef(ch, ext), lang, sup, num, mid, serial, service, zone, due)
                for rid, ch, ext, lang, sup, num, mid, serial, service, zone, due in rows]

    async def settle_warnings_in_flight(self) -> int:
        result = await self._s.execute(update(ReminderDeliveryRow).where(
            ReminderDeliveryRow.period == VERIFY_PERIOD, ReminderDeliveryRow.state == "sending").values(state="lost"))
        return rows_affected(result)
