"""Payments, charges and balances in SQL: the core's Payments port."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.money import KOPIYKA
from core.payments import Balance, BillingEntry, BillingKind
from storage.models import AccountRow, BillingEntryRow
from storage.upsert import rows_affected

ROWS_PER_INSERT = 2000  # 8 values a row: well under either database's limit of bound parameters
NUMBERS_PER_QUERY = 5000
_MOVEMENTS = (BillingKind.PAYMENT.value, BillingKind.CHARGE.value)
T = TypeVar("T")


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class SqlPayments:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, entries: list[BillingEntry], at: datetime) -> int:
        dialect = self._s.bind.dialect.name if self._s.bind else "sqlite"
        insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        added = 0
        for chunk in _chunks(entries, ROWS_PER_INSERT):
            rows = [dict(supplier=e.supplier, number=e.account, entry_date=e.on, kind=e.kind.value, amount=e.amount,
                         occurrence=e.occurrence, imported_at=at) for e in chunk]
            result = await self._s.execute(insert(BillingEntryRow).values(rows).on_conflict_do_nothing())
            added += rows_affected(result)
        return added

    async def unregistered(self, accounts: set[tuple[str, str]]) -> set[tuple[str, str]]:
        by_supplier: dict[str, list[str]] = {}
        for supplier, number in sorted(accounts):
            by_supplier.setdefault(supplier, []).append(number)
        known: set[tuple[str, str]] = set()
        for supplier, numbers in by_supplier.items():
            for chunk in _chunks(numbers, NUMBERS_PER_QUERY):
                rows = await self._s.execute(select(AccountRow.number).where(
                    AccountRow.supplier == supplier, AccountRow.number.in_(chunk)))
                known.update((supplier, number) for number in rows.scalars())
        return accounts - known

    async def latest_balance(self, supplier: str, number: str) -> Balance | None:
        row = (await self._s.execute(
            select(BillingEntryRow.amount, BillingEntryRow.entry_date).where(
                BillingEntryRow.supplier == supplier, BillingEntryRow.number == number,
                BillingEntryRow.kind == BillingKind.BALANCE.value)
            .order_by(BillingEntryRow.entry_date.desc(), BillingEntryRow.id.desc()).limit(1))).first()
        return Balance(row[0].quantize(KOPIYKA), row[1]) if row else None

    async def entries(self, supplier: str, number: str, since: date) -> list[BillingEntry]:
        rows = (await self._s.execute(
            select(BillingEntryRow).where(
                BillingEntryRow.supplier == supplier, BillingEntryRow.number == number,
                BillingEntryRow.kind.in_(_MOVEMENTS), BillingEntryRow.entry_date >= since)
            .order_by(BillingEntryRow.entry_date.desc(), BillingEntryRow.id.desc()))).scalars()
        return [BillingEntry(r.supplier, r.number, r.entry_date, BillingKind(r.kind), r.amount.quantize(KOPIYKA),
                             r.occurrence) for r in rows]
