"""Removing photos: past the retention, abandoned with a draft, or left without a record.

`run_bot.py photos purge` runs it (daily, from deploy/komunalka-photos-purge.timer). Records go first, in
a transaction per thousand, then their files: a crash between the two leaves files without records, which
the next run removes (after a day, so that a photo being received right now is not taken for one).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from collections.abc import Callable

from core.ports import PhotoStore, UnitOfWork

log = logging.getLogger(__name__)

LOOSE_DAYS = 62  # a draft lives until its window closes: a photo no reading refers to is abandoned after this
UNRECORDED_GRACE = timedelta(days=1)  # a file without a record younger than this may be on its way in
BATCH = 1000
DRY_RUN_MAX = 10_000_000  # names a dry run counts (a city's three years of photos, at most)


@dataclass(frozen=True)
class Purged:
    recorded: int  # photos of readings past the retention, and photos abandoned with a draft
    unrecorded: int  # files without a record (a step that let a photo go, then failed to remove it)
    partial: int  # writes a crash cut short


async def purge_photos(uow_factory: Callable[[], UnitOfWork], store: PhotoStore, now: datetime,
                       retention: timedelta, dry_run: bool = False) -> Purged:
    readings_before, loose_before = now - retention, now - timedelta(days=LOOSE_DAYS)
    expired = 0
    while True:
        async with uow_factory() as uow:
            # a dry run removes nothing, so it cannot page by removing: it takes every name at once
            names = await uow.photos.expired(readings_before, loose_before, DRY_RUN_MAX if dry_run else BATCH)
            if dry_run or not names:
                expired += len(names)
                break
            await uow.photos.remove(names)
            await uow.commit()
        for name in names:
            await store.delete(name)
        expired += len(names)
    unrecorded = 0
    batch: list[str] = []
    async for name, written in store.names():
        if written < now - UNRECORDED_GRACE:
            batch.append(name)
        if len(batch) >= BATCH:
            unrecorded += await _unrecorded(uow_factory, store, batch, dry_run)
            batch = []
    unrecorded += await _unrecorded(uow_factory, store, batch, dry_run)
    partial = 0 if dry_run else await store.remove_partials(now - UNRECORDED_GRACE)
    return Purged(expired, unrecorded, partial)


async def _unrecorded(uow_factory: Callable[[], UnitOfWork], store: PhotoStore, names: list[str],
                      dry_run: bool) -> int:
    if not names:
        return 0
    async with uow_factory() as uow:
        known = await uow.photos.known(names)
    gone = [n for n in names if n not in known]
    if not dry_run:
        for name in gone:
            await store.delete(name)
    return len(gone)
