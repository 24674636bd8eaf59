"""Kept readings in SQL: the core's KeptReadings port."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import ReadingStatus
from core.events import ChatRef
from core.periods import Period
from core.ports import KeptSubmission
from storage.models import AccountRow, ReadingRow, ResidentRow, SubmissionRow
from storage.upsert import rows_affected

# A literal, not a bound parameter: a planner matches it to the partial index of pending readings.
_KEPT = ReadingRow.status == literal_column(f"'{ReadingStatus.PENDING.value}'")


class SqlKeptReadings:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def periods(self) -> list[Period]:
        # not per supplier: joined to accounts, a planner without statistics would walk every account
        rows = (await self._s.execute(
            select(ReadingRow.period).distinct().where(_KEPT).order_by(ReadingRow.period))).scalars()
        return [Period.parse(p) for p in rows]

    async def pending(self, supplier: str, period: Period, after: int, limit: int) -> list[KeptSubmission]:
        rows = await self._s.execute(
            select(SubmissionRow.id, SubmissionRow.reference, AccountRow.id, AccountRow.number, ResidentRow.channel,
                   ResidentRow.external_id, ResidentRow.language, func.count(ReadingRow.id))
            .join(ReadingRow, ReadingRow.submission_id == SubmissionRow.id)
            .join(AccountRow, AccountRow.id == SubmissionRow.account_id)
            .outerjoin(ResidentRow, ResidentRow.id == SubmissionRow.resident_id)
            .where(_KEPT, AccountRow.supplier == supplier, ReadingRow.period == str(period), SubmissionRow.id > after)
            .group_by(SubmissionRow.id, SubmissionRow.reference, AccountRow.id, AccountRow.number,
                      ResidentRow.channel, ResidentRow.external_id, ResidentRow.language)
            .order_by(SubmissionRow.id).limit(limit))
        return [KeptSubmission(sid, reference, account_id, number, period,
                               ChatRef(channel, external) if channel is not None else None, language or "uk", count)
                for sid, reference, account_id, number, channel, external, language, count in rows]

    async def hand_in(self, submission_id: int, at: datetime) -> int:
        return await self._settle(submission_id, ReadingStatus.ACCEPTED, at)

    async def expire(self, submission_id: int) -> int:
        return await self._settle(submission_id, ReadingStatus.EXPIRED, None)

    async def _settle(self, submission_id: int, status: ReadingStatus, accepted_at: datetime | None) -> int:
        # only readings still kept change: on PostgreSQL a second process waits for the row lock, then
        # finds nothing left, so a receipt is never written twice
        result = await self._s.execute(update(ReadingRow).where(ReadingRow.submission_id == submission_id, _KEPT)
                                       .values(status=status.value, accepted_at=accepted_at))
        return rows_affected(result)
