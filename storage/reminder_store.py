"""What reminder campaigns read and write: who is due, deliveries recorded before sending, runs."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import and_, exists, func, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import ReadingStatus
from core.events import ChatRef
from core.periods import Period
from core.ports import DueAccount, DueResident, MissingMeter, RunState, VerificationDue
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
from storage.upsert import insert_ignoring_conflict

_OPEN = (ReadingStatus.ACCEPTED.value, ReadingStatus.PENDING.value)


def _due_filter(supplier: str, period: Period, campaign: str, today: date,  # type: ignore[no-untyped-def]
                channels: list[str]):
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


def _joined(columns):  # type: ignore[no-untyped-def]
    return (select(*columns).select_from(ResidentRow)
            .join(LinkRow, LinkRow.resident_id == ResidentRow.id)
            .join(AccountRow, AccountRow.id == LinkRow.account_id)
            .join(MeterRow, MeterRow.account_id == AccountRow.id))


async def due_residents(session: AsyncSession, supplier: str, period: Period, campaign: str, today: date,
                        after: int, limit: int, channels: list[str]) -> list[DueResident]:
    """The next page of residents due for the campaign, after resident id ``after``.

    One query a page, in resident order: memory stays flat however many residents there are. A page
    of ``limit`` rows that ends inside a resident's rows leaves that resident to the next page.
    """
    where = _due_filter(supplier, period, campaign, today, channels)
    connection = await session.connection()
    rows = (await connection.execute(
        _joined([ResidentRow.id, ResidentRow.channel, ResidentRow.external_id, ResidentRow.language,
                 AccountRow.id, AccountRow.number, MeterRow.serial, MeterRow.service, MeterRow.zone])
        .where(where, ResidentRow.id > after)
        .order_by(ResidentRow.id, LinkRow.id, MeterRow.id).limit(limit))).all()
    if len(rows) == limit and rows[0][0] != rows[-1][0]:
        last = rows[-1][0]
        rows = [r for r in rows if r[0] != last]  # complete residents only; the last one starts the next page
    residents: list[DueResident] = []
    for rid, channel, external, language, account_id, number, serial, service, zone in rows:
        if not residents or residents[-1].resident_id != rid:
            residents.append(DueResident(rid, ChatRef(channel, external), language))
        resident = residents[-1]
        if not resident.accounts or resident.accounts[-1].account_id != account_id:
            resident.accounts.append(DueAccount(account_id, number))
        resident.accounts[-1].meters.append(MissingMeter(serial, service, zone))
    return residents


async def count_due(session: AsyncSession, supplier: str, period: Period, campaign: str, today: date,
                    channels: list[str]) -> int:
    where = _due_filter(supplier, period, campaign, today, channels)
    return int((await session.execute(
        select(func.count(func.distinct(ResidentRow.id))).select_from(ResidentRow)
        .join(LinkRow, LinkRow.resident_id == ResidentRow.id)
        .join(AccountRow, AccountRow.id == LinkRow.account_id)
        .join(MeterRow, MeterRow.account_id == AccountRow.id).where(where))).scalar_one())


async def record_deliveries(session: AsyncSession, supplier: str, period: Period | str, campaign: str,
                            resident_ids: list[int], at: datetime) -> list[int]:
    """Record reminders about to be sent; returns the residents recorded now (not before)."""
    recorded = []
    for rid in resident_ids:
        if await insert_ignoring_conflict(session, ReminderDeliveryRow, dict(
                resident_id=rid, supplier=supplier, period=str(period), campaign=campaign, state="sending",
                created_at=at)):
            recorded.append(rid)
    return recorded


async def claim_delivery(session: AsyncSession, supplier: str, period: Period | str, campaign: str,
                         resident_id: int, at: datetime) -> bool:
    """Claim one reminder as it is about to be sent: new, or one left to retry; False if someone has it."""
    if await insert_ignoring_conflict(session, ReminderDeliveryRow, dict(
            resident_id=resident_id, supplier=supplier, period=str(period), campaign=campaign, state="sending",
            created_at=at)):
        return True
    result = await session.execute(update(ReminderDeliveryRow).where(
        ReminderDeliveryRow.resident_id == resident_id, ReminderDeliveryRow.supplier == supplier,
        ReminderDeliveryRow.period == str(period), ReminderDeliveryRow.campaign == campaign,
        ReminderDeliveryRow.state == "retry").values(state="sending"))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def pending_retries(session: AsyncSession, supplier: str, period: Period, campaign: str) -> int:
    return int((await session.execute(select(func.count()).select_from(ReminderDeliveryRow).where(
        ReminderDeliveryRow.supplier == supplier, ReminderDeliveryRow.period == str(period),
        ReminderDeliveryRow.campaign == campaign, ReminderDeliveryRow.state == "retry"))).scalar_one())


async def mark_deliveries(session: AsyncSession, supplier: str, period: Period | str, campaign: str,
                          resident_ids: list[int], state: str) -> None:
    if resident_ids:
        await session.execute(update(ReminderDeliveryRow).where(
            ReminderDeliveryRow.supplier == supplier, ReminderDeliveryRow.period == str(period),
            ReminderDeliveryRow.campaign == campaign, ReminderDeliveryRow.resident_id.in_(resident_ids)
        ).values(state=state))


async def settle_in_flight(session: AsyncSession, supplier: str, period: Period, campaign: str) -> int:
    """Reminders recorded but not confirmed when a run stopped: maybe sent, never resent. How many."""
    result = await session.execute(update(ReminderDeliveryRow).where(
        ReminderDeliveryRow.supplier == supplier, ReminderDeliveryRow.period == str(period),
        ReminderDeliveryRow.campaign == campaign, ReminderDeliveryRow.state == "sending").values(state="lost"))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def delivery_counts(session: AsyncSession, supplier: str, period: Period, campaign: str) -> dict[str, int]:
    rows = await session.execute(select(ReminderDeliveryRow.state, func.count()).where(
        ReminderDeliveryRow.supplier == supplier, ReminderDeliveryRow.period == str(period),
        ReminderDeliveryRow.campaign == campaign).group_by(ReminderDeliveryRow.state))
    return {state: int(n) for state, n in rows}


async def run_state(session: AsyncSession, supplier: str, period: Period, campaign: str) -> RunState | None:
    row = (await session.execute(select(ReminderRunRow.started_at, ReminderRunRow.finished_at).where(
        ReminderRunRow.supplier == supplier, ReminderRunRow.period == str(period),
        ReminderRunRow.campaign == campaign))).first()
    return RunState(row[0], row[1]) if row else None


async def start_run(session: AsyncSession, supplier: str, period: Period, campaign: str, at: datetime) -> None:
    await insert_ignoring_conflict(session, ReminderRunRow, dict(
        supplier=supplier, period=str(period), campaign=campaign, started_at=at, finished_at=None))


async def finish_run(session: AsyncSession, supplier: str, period: Period, campaign: str, at: datetime) -> None:
    await session.execute(update(ReminderRunRow).where(
        ReminderRunRow.supplier == supplier, ReminderRunRow.period == str(period),
        ReminderRunRow.campaign == campaign).values(finished_at=at))


async def verifications_due(session: AsyncSession, today: date, until: date, channels: list[str]
                            ) -> list[VerificationDue]:
    """Meters whose verification lapses soon, per linked reachable resident (warned or not: the
    delivery record decides)."""
    rows = await session.execute(
        _joined([ResidentRow.id, ResidentRow.channel, ResidentRow.external_id, ResidentRow.language,
                 AccountRow.supplier, AccountRow.number, MeterRow.id, MeterRow.serial, MeterRow.service,
                 MeterRow.zone, MeterRow.verification_due])
        .where(ResidentRow.reachable.is_(True), ResidentRow.channel.in_(channels),
               MeterRow.verification_due >= today, MeterRow.verification_due <= until)
        .order_by(ResidentRow.id, MeterRow.id))
    return [VerificationDue(rid, ChatRef(ch, ext), lang, sup, num, mid, serial, service, zone, due)
            for rid, ch, ext, lang, sup, num, mid, serial, service, zone, due in rows]


def verification_campaign(meter_id: int, due: date) -> str:
    return f"verify-{meter_id}-{due.isoformat()}"



class SqlReminderCampaigns:
    """The campaigns' port (core.ports.ReminderCampaigns) on the unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def run_state(self, supplier: str, period: Period, campaign: str) -> RunState | None:
        return await run_state(self._s, supplier, period, campaign)

    async def start_run(self, supplier: str, period: Period, campaign: str, at: datetime) -> None:
        await start_run(self._s, supplier, period, campaign, at)

    async def finish_run(self, supplier: str, period: Period, campaign: str, at: datetime) -> None:
        await finish_run(self._s, supplier, period, campaign, at)

    async def settle_in_flight(self, supplier: str, period: Period, campaign: str) -> int:
        return await settle_in_flight(self._s, supplier, period, campaign)

    async def due_residents(self, supplier: str, period: Period, campaign: str, today: date, after: int, limit: int,
                            channels: list[str]) -> list[DueResident]:
        return await due_residents(self._s, supplier, period, campaign, today, after, limit, channels)

    async def count_due(self, supplier: str, period: Period, campaign: str, today: date, channels: list[str]) -> int:
        return await count_due(self._s, supplier, period, campaign, today, channels)

    async def claim(self, supplier: str, period: Period | str, campaign: str, resident_id: int, at: datetime) -> bool:
        return await claim_delivery(self._s, supplier, period, campaign, resident_id, at)

    async def mark(self, supplier: str, period: Period | str, campaign: str, resident_ids: list[int],
                   state: str) -> None:
        await mark_deliveries(self._s, supplier, period, campaign, resident_ids, state)

    async def retries_left(self, supplier: str, period: Period, campaign: str) -> int:
        return await pending_retries(self._s, supplier, period, campaign)

    async def verifications_due(self, today: date, until: date, channels: list[str]) -> list[VerificationDue]:
        return await verifications_due(self._s, today, until, channels)

    async def settle_warnings_in_flight(self) -> int:
        result = await self._s.execute(update(ReminderDeliveryRow).where(
            ReminderDeliveryRow.period == "verify", ReminderDeliveryRow.state == "sending").values(state="lost"))
        return int(result.rowcount)  # type: ignore[attr-defined]
