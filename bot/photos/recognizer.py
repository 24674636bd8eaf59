"""Reading the digits on a meter's photo with the [ocr] extra's engine (RapidOCR on onnxruntime).

The engine runs in worker processes, never in the bot's: a photo takes about two thirds of a second of a
core, and a worker half a gigabyte of memory. Each worker loads the engine once, when the first photo starts
it; onnxruntime gets one thread per worker on a small machine, so the bot keeps a core. A photo not read
within the time limit gives None, and as a running task cannot be stopped, the workers are killed and the
next photo starts new ones. Logs name only an error's class: never the photo, never what was read on it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import logging
import math
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from core.meter_photo import Seen

log = logging.getLogger(__name__)

ENGINE = ("rapidocr", "onnxruntime")  # the [ocr] extra (pyproject.toml); the models ship in rapidocr's wheel
LONGEST_SIDE = 1280  # photos are read at most this large: a larger one only takes longer to search for text
MIN_LEFT_S = 0.2  # a photo whose time is this nearly up when a worker is free is not begun
MAX_WORKERS = 2  # never more photos than this at a time: each takes a core and half a gigabyte

_engine: Any = None  # in a worker process: the engine, loaded once by _load_engine


class Recognizer(Protocol):
    async def read(self, image: bytes) -> tuple[Seen, ...] | None:
        """What was read on the photo (JPEG or PNG bytes); None when it failed or took too long."""
        ...

    async def close(self) -> None: ...


def ocr_installed() -> bool:
    """Whether the [ocr] extra is installed; found, not imported: the engine never loads in the bot's process."""
    return all(importlib.util.find_spec(name) is not None for name in ENGINE)


def start_recognizer(time_limit_s: float = 10.0, workers: int | None = None) -> Recognizer | None:
    """A recognizer whose workers start at the first photo; None when the [ocr] extra is not installed."""
    if not ocr_installed():
        return None
    return ProcessRecognizer(time_limit_s, workers)


def _load_engine(threads: int) -> None:
    global _engine
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C stops the bot, which then stops its workers
    from rapidocr import RapidOCR

    _engine = RapidOCR(params={
        "Global.log_level": "error",
        "Global.use_cls": False,  # the upside-down text classifier: a photo is turned upright before it comes here
        "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    })


def _read(image: bytes) -> tuple[Seen, ...]:
    import numpy
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(image)) as opened:
        photo = ImageOps.exif_transpose(opened).convert("RGB")
    scale = min(1.0, LONGEST_SIDE / max(photo.size))
    if scale < 1:
        photo = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.Resampling.LANCZOS)
    result = _engine(numpy.asarray(photo))
    if result.boxes is None:
        return ()
    quads = [[(float(x) / scale, float(y) / scale) for x, y in box] for box in result.boxes]
    return _level(quads, [str(t) for t in result.txts], [float(s) for s in result.scores])


def _level(quads: list[list[tuple[float, float]]], texts: list[str], scores: list[float]) -> tuple[Seen, ...]:
    """Upright boxes of the texts, in the photo turned level by the slope of its longest line of text.

    A camera held askew tilts the drum; the upright box of a tilted piece grows with its width, so two pieces of
    one drum would no longer look as tall as each other.
    """
    if not quads:
        return ()
    (x0, y0), (x1, y1) = max((q[:2] for q in quads), key=lambda edge: math.dist(*edge))
    angle = math.atan2(y1 - y0, x1 - x0)
    cos, sin = math.cos(angle), math.sin(angle)
    seen = []
    for quad, text, score in zip(quads, texts, scores):
        xs = [x * cos + y * sin for x, y in quad]
        ys = [y * cos - x * sin for x, y in quad]
        seen.append(Seen(text, score, (min(xs), min(ys), max(xs), max(ys))))
    return tuple(seen)


class ProcessRecognizer:
    """Photos read in up to ``workers`` processes (by default 1 on a machine of two cores, else 2), each within
    ``time_limit_s`` seconds, the workers' start included; ``time_limit_s`` may be changed between photos."""

    def __init__(self, time_limit_s: float = 10.0, workers: int | None = None) -> None:
        cpus = os.cpu_count() or 1
        self.time_limit_s = time_limit_s
        self._workers = min(MAX_WORKERS, workers or (1 if cpus <= 2 else 2))
        self._threads = max(1, min(2, (cpus - 1) // self._workers))  # onnxruntime's, in each worker
        self._slots = asyncio.Semaphore(self._workers)  # a photo waits here, not in the pool: within its time limit
        self._pool: ProcessPoolExecutor | None = None

    async def read(self, image: bytes) -> tuple[Seen, ...] | None:
        """Waiting for a free worker counts against the time limit too: when many residents send photos at
        once, the last are evidence only rather than keeping their resident waiting (the photo's lane)."""
        deadline = asyncio.get_running_loop().time() + self.time_limit_s
        try:
            async with asyncio.timeout_at(deadline):
                await self._slots.acquire()
        except TimeoutError:
            log.warning("meter photo not read (every worker busy)")
            return None
        try:
            if deadline - asyncio.get_running_loop().time() < MIN_LEFT_S:  # no time left to read it: not begun
                log.warning("meter photo not read (under %.1f s of its time limit left after waiting for a worker)",
                            MIN_LEFT_S)
                return None
            return await self._read_by(deadline, image)
        finally:
            self._slots.release()

    async def _read_by(self, deadline: float, image: bytes) -> tuple[Seen, ...] | None:
        pool = self._started()
        try:
            async with asyncio.timeout_at(deadline):
                return await asyncio.get_running_loop().run_in_executor(pool, _read, image)
        except (TimeoutError, BrokenProcessPool) as exc:  # stuck or dead: new workers for the next photo
            log.error("meter photo not read (%s); the recognition workers restart", exc.__class__.__name__)
            await self._stop(pool, kill=True)
        except Exception as exc:  # not a picture, or the engine's own error: the resident types the value
            log.warning("meter photo not read (%s)", exc.__class__.__name__)
        return None

    async def close(self) -> None:
        if self._pool is not None:
            await self._stop(self._pool, kill=False)

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: forking a process that runs an event loop and threads copies their locks
            self._pool = ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_load_engine, initargs=(self._threads,))
        return self._pool

    async def _stop(self, pool: ProcessPoolExecutor, kill: bool) -> None:
        if self._pool is pool:
            self._pool = None  # the next photo starts new workers
        await asyncio.to_thread(_stopped, pool, kill)


def _stopped(pool: ProcessPoolExecutor, kill: bool) -> None:
    """The pool shut down; with ``kill``, its workers killed first (and waited for, so none lingers)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    if kill:
        # ProcessPoolExecutor cannot stop a running task before Python 3.14 (kill_workers)
        for process in processes:
            process.kill()
    pool.shutdown(wait=not kill, cancel_futures=True)
    for process in processes:
        process.join(timeout=5)
