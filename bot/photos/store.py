"""Meter photos in a local folder: the photo store the bot ships with (core/ports.py PhotoStore).

A name is 128 random bits in hex plus ".jpg": unguessable, and safe to use as a path (anything else is
refused before the disk is touched). Photos sit in 256 subfolders by the name's first two characters, so
a city's million photos do not crowd one folder. A photo is written to a temporary file in its folder,
flushed to disk and renamed into place: a reader sees all of it or nothing, even after a crash.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import make_url

NAME = re.compile(r"[0-9a-f]{32}\.jpg")  # used with fullmatch
PARTIAL = ".part-"  # a write in progress (or one a crash cut short)


def photo_dir(database_url: str, configured: Path | None) -> Path:
    """The configured folder, else a "photos" folder beside the SQLite file, else ./photos."""
    if configured is not None:
        return configured
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).parent / "photos"
    return Path("photos")


class LocalPhotoStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, name: str) -> Path | None:
        return self.root / name[:2] / name if NAME.fullmatch(name) else None

    async def save(self, data: bytes) -> str:
        name = secrets.token_hex(16) + ".jpg"
        await asyncio.to_thread(self._write, name, data)
        return name

    def _write(self, name: str, data: bytes) -> None:
        folder = self.root / name[:2]
        folder.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=folder, prefix=PARTIAL)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(partial, folder / name)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a power cut
        finally:
            os.close(directory)

    async def load(self, name: str) -> bytes | None:
        path = self.path_of(name)
        if path is None:
            return None
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, name: str) -> bool:
        path = self.path_of(name)
        if path is None:
            return False
        try:
            await asyncio.to_thread(path.unlink)
        except FileNotFoundError:
            return False
        return True

    async def names(self) -> AsyncIterator[tuple[str, datetime]]:
        """Folder by folder: a city's photos are never listed in memory at once."""
        for folder in await asyncio.to_thread(self._folders):
            for name, written in await asyncio.to_thread(_entries, folder):
                if NAME.fullmatch(name):
                    yield name, written

    async def remove_partials(self, before: datetime) -> int:
        """Temporary files that a crash left, written before ``before``: how many were removed."""
        removed = 0
        for folder in await asyncio.to_thread(self._folders):
            for name, written in await asyncio.to_thread(_entries, folder):
                if name.startswith(PARTIAL) and written < before:
                    await asyncio.to_thread((folder / name).unlink, True)
                    removed += 1
        return removed

    def _folders(self) -> list[Path]:
        return sorted(p for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() else []


def _entries(folder: Path) -> list[tuple[str, datetime]]:
    with os.scandir(folder) as entries:
        return [(e.name, datetime.fromtimestamp(e.stat().st_mtime, timezone.utc)) for e in entries]
