"""Storing a checked register: streamed into a staging table, checked whole, then merged in bulk.

A city's register (a million meter rows) never sits in memory: rows checked alone go into a temporary
staging table in batches (``COPY`` on PostgreSQL), come back sorted by account for the checks across
rows (core.register.check_accounts), and only a file without a single problem is merged, in one
transaction of a few set-based statements whose counts are the import's report. Re-importing the same
file updates nothing; a meter the file no longer lists is kept, with its readings, and marked retired.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (BigInteger, Column, Date, Index, Integer, MetaData, String, Table, Text, exists, func, insert,
                        or_, select, text, tuple_, update)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from core.domain import SupplierSpec
from core.register import AccountCheck, Problems, RegisterAccount, RegisterMeter, RegisterRow
from storage.models import AccountRow, MeterRow
from storage.types import SCALE
from storage.upsert import rows_affected

log = logging.getLogger(__name__)

BATCH = 5000  # staged rows a statement
PAGE = 20_000  # staged rows read back at a time
_staging_meta = MetaData()
STAGING = Table(
    "register_staging", _staging_meta,
    Column("line", Integer, nullable=False), Column("supplier", String(20), nullable=False),
    Column("number", String(40), nullable=False), Column("address", Text, nullable=False),
    Column("apartment", String(20), nullable=False), Column("last_payment", BigInteger),
    Column("serial", String(40), nullable=False), Column("service", String(20), nullable=False),
    Column("zone", String(8), nullable=False), Column("last_reading", BigInteger),
    Column("last_reading_date", Date), Column("verification_due", Date), Column("account_id", Integer),
    Index("ix_register_staging_account", "supplier", "number", "line"),
    prefixes=["TEMPORARY"],
)
STAGED_ACCOUNTS = Table(
    "register_staged_accounts", _staging_meta,
    Column("supplier", String(20), nullable=False), Column("number", String(40), nullable=False),
    Column("address", Text, nullable=False), Column("apartment", String(20), nullable=False),
    Column("last_payment", BigInteger),
    Index("ix_register_staged_accounts", "supplier", "number", unique=True),
    prefixes=["TEMPORARY"],
)
_COPY_COLUMNS = [c.name for c in STAGING.columns if c.name != "account_id"]

Progress = Callable[[str, int], None]  # (what is being done, rows done so far)


@dataclass
class ImportResult:
    accounts: int = 0  # in the file
    accounts_added: int = 0
    accounts_updated: int = 0
    meters: int = 0  # meter rows in the file
    meters_added: int = 0
    meters_updated: int = 0
    meters_retired: int = 0

    @property
    def accounts_unchanged(self) -> int:
        return self.accounts - self.accounts_added - self.accounts_updated

    @property
    def meters_unchanged(self) -> int:
        return self.meters - self.meters_added - self.meters_updated


async def import_register_rows(engine: AsyncEngine, rows: Iterable[RegisterRow], problems: Problems,
                               suppliers: Mapping[str, SupplierSpec], at: datetime,
                               progress: Progress = lambda _stage, _done: None) -> ImportResult:
    """Stage, check whole and merge the rows of a register file (``core.register.register_rows``).

    Raises RegisterError, having changed nothing, when the file has any problem. Meters of the file's
    suppliers that it no longer lists are marked retired. Staging commits batch by batch into a
    temporary table, so a running bot on SQLite waits for the import's write lock only while it merges.
    """
    started = time.monotonic()
    async with engine.connect() as connection:
        try:
            await _create_staging(connection)
            await _stage(connection, rows, progress)
            staged = time.monotonic()
            await _check_together(connection, suppliers, problems, progress)
            checked = time.monotonic()
            if problems:
                raise problems.error()
            async with connection.begin():
                progress("merging", 0)
                result = await _merge(connection, at, retire=True)
            # the merge holds SQLite's write lock: a running bot's writes wait for it (up to the busy timeout)
            log.info("register import: rows read and staged in %.1f s, checked together in %.1f s, merged in %.1f s",
                     staged - started, checked - staged, time.monotonic() - checked)
            return result
        finally:
            await connection.rollback()  # whatever a failure left open
            await _drop_staging(connection)
            await connection.commit()


async def import_register(session: AsyncSession, accounts: list[RegisterAccount]) -> ImportResult:
    """Insert or update the given accounts and meters (checked already) in the session's transaction.

    For a few accounts at a time (tests, the demo): nothing is retired, the caller commits.
    """
    connection = await session.connection()
    await _create_staging(connection)
    line = itertools.count(1)
    await _insert_staged(connection, [
        _staged(RegisterRow(next(line), a.supplier, a.number, a.address, a.apartment, a.last_payment, m))
        for a in accounts for m in a.meters])
    result = await _merge(connection, None, retire=False)
    await _drop_staging(connection)
    return result


async def _create_staging(connection: AsyncConnection) -> None:
    await connection.run_sync(_staging_meta.drop_all)  # left on a pooled connection by an import that died
    await connection.run_sync(_staging_meta.create_all)


async def _drop_staging(connection: AsyncConnection) -> None:
    await connection.run_sync(_staging_meta.drop_all)


def _milli(value: Decimal | None) -> int | None:
    return None if value is None else int(value * SCALE)


def _staged(row: RegisterRow) -> tuple[Any, ...]:
    """A row as the staging table holds it, in the order of _COPY_COLUMNS; amounts in thousandths."""
    meter = row.meter
    return (row.line, row.supplier, row.number, row.address, row.apartment, _milli(row.last_payment), meter.serial,
            meter.service, meter.zone, _milli(meter.last_reading), meter.last_reading_date, meter.verification_due)


async def _insert_staged(connection: AsyncConnection, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        raw = await connection.get_raw_connection()
        # the driver's COPY: several times faster than INSERT for a million rows
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            STAGING.name, records=rows, columns=_COPY_COLUMNS)
        return
    await connection.execute(insert(STAGING), [dict(zip(_COPY_COLUMNS, row)) for row in rows])


async def _stage(connection: AsyncConnection, rows: Iterable[RegisterRow], progress: Progress) -> None:
    """Every row read alone goes into the staging table, a batch a transaction."""
    await connection.commit()
    done = 0
    iterator = iter(rows)
    while batch := [_staged(row) for row in itertools.islice(iterator, BATCH)]:
        await _insert_staged(connection, batch)
        await connection.commit()
        done += len(batch)
        progress("checking", done)


async def _check_together(connection: AsyncConnection, suppliers: Mapping[str, SupplierSpec], problems: Problems,
                          progress: Progress) -> None:
    """The staged rows, read back a page at a time in account order, through the checks across rows."""
    check = AccountCheck(suppliers, problems)
    key = tuple_(STAGING.c.supplier, STAGING.c.number, STAGING.c.line)
    first = select(*(STAGING.c[name] for name in _COPY_COLUMNS)).order_by(*key.clauses).limit(PAGE)
    query = first
    done = 0
    while True:
        page = (await connection.execute(query)).all()
        await connection.commit()  # no transaction is held between pages (SQLite's write lock)
        if not page:
            break
        for row in page:
            check.feed(_unstaged(row))
        query = first.where(key > tuple_(page[-1].supplier, page[-1].number, page[-1].line))
        done += len(page)
        progress("checking accounts", done)
    check.finish()


def _unstaged(row: Any) -> RegisterRow:
    (line, supplier, number, address, apartment, payment, serial, service, zone, reading, reading_date, due) = row
    return RegisterRow(line, supplier, number, address, apartment, _decimal(payment),
                       RegisterMeter(serial, service, zone, _decimal(reading), reading_date, due))


def _decimal(milli: int | None) -> Decimal | None:
    return None if milli is None else Decimal(milli) / SCALE


async def _merge(connection: AsyncConnection, at: datetime | None, retire: bool) -> ImportResult:
    """The staged rows into accounts and meters, a few set-based statements; only what differs is written."""
    result = ImportResult()
    staged, accounts, meters = STAGING.c, STAGED_ACCOUNTS.c, MeterRow.__table__.c
    await connection.execute(insert(STAGED_ACCOUNTS).from_select(
        ["supplier", "number", "address", "apartment", "last_payment"],
        select(staged.supplier, staged.number, func.min(staged.address), func.min(staged.apartment),
               func.min(staged.last_payment)).group_by(staged.supplier, staged.number)))
    same_account = (AccountRow.supplier == accounts.supplier, AccountRow.number == accounts.number)
    result.accounts_updated = rows_affected(await connection.execute(
        update(AccountRow).where(*same_account, or_(
            AccountRow.address.is_distinct_from(accounts.address),
            AccountRow.apartment.is_distinct_from(accounts.apartment),
            AccountRow.last_payment.is_distinct_from(accounts.last_payment)))
        .values(address=accounts.address, apartment=accounts.apartment, last_payment=accounts.last_payment)))
    result.accounts_added = rows_affected(await connection.execute(insert(AccountRow).from_select(
        ["supplier", "number", "address", "apartment", "last_payment"],
        select(accounts.supplier, accounts.number, accounts.address, accounts.apartment, accounts.last_payment)
        .where(~exists().where(*same_account)))))
    await connection.execute(update(STAGING).values(account_id=select(AccountRow.id).where(
        AccountRow.supplier == staged.supplier, AccountRow.number == staged.number).scalar_subquery()))
    await connection.execute(text("CREATE INDEX ix_register_staging_meter "
                                  "ON register_staging (account_id, serial, zone)"))
    same_meter = (meters.account_id == staged.account_id, meters.serial == staged.serial, meters.zone == staged.zone)
    result.meters_updated = rows_affected(await connection.execute(
        update(MeterRow).where(*same_meter, or_(
            meters.service != staged.service,
            meters.last_reading.is_distinct_from(staged.last_reading),
            meters.last_reading_date.is_distinct_from(staged.last_reading_date),
            meters.verification_due.is_distinct_from(staged.verification_due),
            meters.retired_at.is_not(None)))
        .values(service=staged.service, last_reading=staged.last_reading, last_reading_date=staged.last_reading_date,
                verification_due=staged.verification_due, retired_at=None)))
    columns = ["account_id", "serial", "zone", "service", "last_reading", "last_reading_date", "verification_due"]
    result.meters_added = rows_affected(await connection.execute(insert(MeterRow).from_select(
        columns, select(*(staged[c] for c in columns)).where(~exists().where(*same_meter)))))
    if retire:
        listed = select(STAGED_ACCOUNTS.c.supplier).distinct()
        result.meters_retired = rows_affected(await connection.execute(
            update(MeterRow).where(
                meters.retired_at.is_(None),
                meters.account_id.in_(select(AccountRow.id).where(AccountRow.supplier.in_(listed))),
                ~exists().where(*same_meter))
            .values(retired_at=at)))
    result.accounts = (await connection.execute(select(func.count()).select_from(STAGED_ACCOUNTS))).scalar_one()
    result.meters = (await connection.execute(select(func.count()).select_from(STAGING))).scalar_one()
    return result
