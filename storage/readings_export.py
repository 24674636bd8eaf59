"""Accepted readings read out for a supplier's billing, streamed: a city's export keeps memory flat."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import ReadingKind, ReadingStatus
from core.periods import Period
from storage.models import AccountRow, MeterRow, PhotoRow, ReadingRow, SubmissionRow

EXPORT_COLUMNS = ("supplier", "account", "meter", "service", "zone", "period", "reading", "previous_reading",
                  "consumption", "submitted_at", "channel", "reference",
                  "kind", "new_meter", "photo", "new_serial", "new_installed")
# rows fetched per round trip: few enough to weigh a megabyte or two, enough that round trips cost little
BATCH_ROWS = 2000


class ExportRow(NamedTuple):
    """One accepted reading as the supplier's billing takes it in (consumption as billed)."""

    supplier: str
    account: str
    meter: str
    service: str
    zone: str
    period: str
    reading: Decimal
    previous_reading: Decimal | None
    consumption: Decimal | None
    submitted_at: datetime
    channel: str
    reference: str
    kind: ReadingKind
    photo: str | None  # the kept photo's name (`run_bot.py photos get NAME`)
    new_serial: str | None
    new_installed: date | None


async def stream_accepted_readings(
    session: AsyncSession, supplier: str, period: Period
) -> AsyncGenerator[ExportRow, None]:
    """Rows of the export, in account and meter order, fetched ``BATCH_ROWS`` at a time from a server-side
    cursor (asyncpg) or a stepping one (aiosqlite): memory does not grow with the number of rows.

    The cursor holds the session's connection until the last row; a caller that may stop early closes the
    iterator (``contextlib.aclosing``).
    """
    result = await session.stream(
        select(AccountRow.supplier, AccountRow.number, MeterRow.serial, MeterRow.service, MeterRow.zone,
               ReadingRow.period, ReadingRow.value, ReadingRow.previous_value, ReadingRow.consumption,
               ReadingRow.accepted_at, SubmissionRow.channel, SubmissionRow.reference, ReadingRow.kind,
               PhotoRow.name, ReadingRow.new_serial, ReadingRow.new_installed,
               ReadingRow.new_start)
        .join(MeterRow, MeterRow.id == ReadingRow.meter_id)
        .join(AccountRow, AccountRow.id == MeterRow.account_id)
        .join(SubmissionRow, SubmissionRow.id == ReadingRow.submission_id)
        .outerjoin(PhotoRow, PhotoRow.name == ReadingRow.evidence)  # a photo removed (retention) is not named
        .where(AccountRow.supplier == supplier, ReadingRow.period == str(period),
               ReadingRow.status == ReadingStatus.ACCEPTED.value)
        .order_by(AccountRow.number, MeterRow.serial, MeterRow.zone)
        .execution_options(yield_per=BATCH_ROWS)
    )
    try:
        async for batch in result.partitions():  # one await per batch, not one per row
            for columns in batch:
                yield _export_row(columns)
    finally:
        await result.close()


async def accepted_readings(session: AsyncSession, supplier: str, period: Period) -> list[ExportRow]:
    """Rows of the export, in account and meter order: what the supplier's billing takes in."""
    return [row async for row in stream_accepted_readings(session, supplier, period)]


def _export_row(columns: Any) -> ExportRow:
    (supplier, number, serial, service, zone, period, value, previous, used, at, channel, reference, kind, photo,
     new_serial, new_installed, new_start) = columns
    if kind == ReadingKind.REPLACED.value:
        # the old meter's last value says nothing of the new one's use; its start reading does
        used = value - new_start if new_start is not None and value >= new_start else None
    return ExportRow(supplier, number, serial, service, zone, period, value, previous, used, at, channel, reference,
                     ReadingKind(kind), photo, new_serial, new_installed)
