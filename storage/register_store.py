"""Storing a checked register, and reading accepted readings out for a supplier's billing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import ReadingKind, ReadingStatus
from core.periods import Period
from core.register import RegisterAccount
from storage.models import AccountRow, MeterRow, ReadingRow, SubmissionRow


@dataclass
class ImportResult:
    accounts_added: int = 0
    accounts_updated: int = 0
    meters_added: int = 0
    meters_updated: int = 0
    unchanged: int = 0


async def import_register(session: AsyncSession, accounts: list[RegisterAccount]) -> ImportResult:
    """Insert or update every account and meter of the register; the caller commits once."""
    result = ImportResult()
    for entry in accounts:
        row = (await session.execute(select(AccountRow).where(
            AccountRow.supplier == entry.supplier, AccountRow.number == entry.number))).scalar_one_or_none()
        fields = dict(address=entry.address, apartment=entry.apartment, last_payment=entry.last_payment)
        if row is None:
            row = AccountRow(supplier=entry.supplier, number=entry.number, **fields)
            session.add(row)
            await session.flush()
            result.accounts_added += 1
        elif _changed(row, fields):
            result.accounts_updated += 1
        else:
            result.unchanged += 1
        existing = {(m.serial, m.zone): m for m in (await session.execute(
            select(MeterRow).where(MeterRow.account_id == row.id))).scalars()}
        for meter in entry.meters:
            values = dict(service=meter.service, last_reading=meter.last_reading,
                          last_reading_date=meter.last_reading_date, verification_due=meter.verification_due)
            current = existing.get((meter.serial, meter.zone))
            if current is None:
                session.add(MeterRow(account_id=row.id, serial=meter.serial, zone=meter.zone, **values))
                result.meters_added += 1
            elif _changed(current, values):
                result.meters_updated += 1
            else:
                result.unchanged += 1
    await session.flush()
    return result


def _changed(row: object, values: Mapping[str, object]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


EXPORT_COLUMNS = ("supplier", "account", "meter", "service", "zone", "period", "reading", "previous_reading",
                  "consumption", "submitted_at", "channel", "reference",
                  "kind", "new_meter", "photo", "new_serial", "new_installed")


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
    photo: bool
    new_serial: str | None
    new_installed: date | None


async def accepted_readings(session: AsyncSession, supplier: str, period: Period) -> list[ExportRow]:
    """Rows of the export, in account and meter order: what the supplier's billing takes in."""
    rows = await session.execute(
        select(AccountRow.supplier, AccountRow.number, MeterRow.serial, MeterRow.service, MeterRow.zone,
               ReadingRow.period, ReadingRow.value, ReadingRow.previous_value, ReadingRow.consumption,
               ReadingRow.accepted_at, SubmissionRow.channel, SubmissionRow.reference, ReadingRow.kind,
               ReadingRow.evidence.is_not(None), ReadingRow.new_serial, ReadingRow.new_installed,
               ReadingRow.new_start)
        .join(MeterRow, MeterRow.id == ReadingRow.meter_id)
        .join(AccountRow, AccountRow.id == MeterRow.account_id)
        .join(SubmissionRow, SubmissionRow.id == ReadingRow.submission_id)
        .where(AccountRow.supplier == supplier, ReadingRow.period == str(period),
               ReadingRow.status == ReadingStatus.ACCEPTED.value)
        .order_by(AccountRow.number, MeterRow.serial, MeterRow.zone)
    )
    return [_export_row(r) for r in rows]


def _export_row(columns: Any) -> ExportRow:
    (supplier, number, serial, service, zone, period, value, previous, used, at, channel, reference, kind, photo,
     new_serial, new_installed, new_start) = columns
    if kind == ReadingKind.REPLACED.value:
        # the old meter's last value says nothing of the new one's use; its start reading does
        used = value - new_start if new_start is not None and value >= new_start else None
    return ExportRow(supplier, number, serial, service, zone, period, value, previous, used, at, channel, reference,
                     ReadingKind(kind), bool(photo), new_serial, new_installed)
