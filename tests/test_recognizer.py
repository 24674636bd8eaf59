"""The [ocr] extra's recognizer on generated meter photos, through its worker processes (skipped without the extra).

Starting a worker loads the engine's models (two seconds or so): the tests share one recognizer where they can.
"""

from __future__ import annotations

import asyncio
import logging
import time
import multiprocessing
import random
from decimal import Decimal as D

import pytest

from bot.photos.recognizer import ProcessRecognizer, ocr_installed, start_recognizer
from core.meter_photo import suggestion
from core.supplier_config import load_suppliers
from tests.meter_faces import faces, render_meter

pytest.importorskip("rapidocr")  # the [ocr] extra; CI installs it

SUPPLIERS = load_suppliers()
SERVICES = {5: SUPPLIERS["water"].services[0], 6: SUPPLIERS["electricity"].services[0]}
FACES = list(faces(seed=5, count=10))  # glare, blur, a tilted camera, low light, two drums caught turning


@pytest.fixture(scope="module")
def recognizer():
    recognizer = start_recognizer(time_limit_s=60)  # the first photo waits for the worker's start
    assert recognizer is not None and ocr_installed()
    yield recognizer
    asyncio.run(recognizer.close())


def clean_water_meter(value: D) -> bytes:
    return render_meter(value, 5, 3, random.Random(3))


async def test_generated_meters_get_the_right_suggestion_mostly_and_never_a_wrong_one(recognizer):
    outcomes = []
    for value, digits, _, conditions, jpeg in FACES:
        seen = await recognizer.read(jpeg)
        assert seen is not None
        offered = suggestion(seen, SERVICES[digits], value - 5, [D(4), D(5)])
        outcome = "withheld" if offered is None else "exact" if offered == value else f"wrong: {offered}"
        outcomes.append((outcome, "rolled" in conditions))
    assert [o for o, _ in outcomes if o.startswith("wrong")] == [], outcomes
    steady = [o for o, rolled in outcomes if not rolled]  # a turning drum shows two values: withheld is right
    assert steady.count("exact") >= 0.75 * len(steady) and len(steady) >= 6, outcomes


async def test_a_water_meter_read_as_an_electricity_meter_gets_no_suggestion(recognizer):
    seen = await recognizer.read(clean_water_meter(D("123.456")))
    assert seen is not None
    assert suggestion(seen, SERVICES[5], D("120"), []) == D("123.456")
    assert suggestion(seen, SERVICES[6], D("12000"), []) is None  # eight digits do not fit a 6+1 drum


async def test_bytes_that_are_no_picture_are_not_read_and_the_worker_goes_on(recognizer, caplog):
    with caplog.at_level(logging.WARNING, logger="bot.photos.recognizer"):
        assert await recognizer.read(b"%PDF-1.7 not a photo") is None
    assert "UnidentifiedImageError" in caplog.text and "PDF" not in caplog.text
    assert await recognizer.read(clean_water_meter(D("7.5"))) is not None


async def test_a_photo_over_the_time_limit_is_not_read_and_new_workers_read_the_next():
    photo = clean_water_meter(D("45.678"))
    others = set(multiprocessing.active_children())
    recognizer = ProcessRecognizer(time_limit_s=0.01, workers=1)
    try:
        assert await recognizer.read(photo) is None  # the workers are killed: the engine could not be stopped
        recognizer.time_limit_s = 60
        seen = await recognizer.read(photo)
        assert seen is not None and suggestion(seen, SERVICES[5], D("40"), []) == D("45.678")
    finally:
        await recognizer.close()
    assert set(multiprocessing.active_children()) <= others  # no worker left behind, killed or stopped


async def test_a_worker_that_died_is_replaced_for_the_next_photo():
    photo = clean_water_meter(D("45.678"))
    others = set(multiprocessing.active_children())  # the shared recognizer's worker lives on
    recognizer = ProcessRecognizer(time_limit_s=60, workers=1)
    try:
        assert await recognizer.read(photo) is not None
        for worker in set(multiprocessing.active_children()) - others:
            worker.kill()  # as the kernel's OOM killer would
            worker.join()
        assert await recognizer.read(photo) is None
        seen = await recognizer.read(photo)
        assert seen is not None and suggestion(seen, SERVICES[5], D("40"), []) == D("45.678")
    finally:
        await recognizer.close()
    assert set(multiprocessing.active_children()) <= others  # no worker left behind


async def test_photos_waiting_for_a_busy_worker_past_the_time_limit_are_evidence_only():
    photo = clean_water_meter(D("45.678"))
    others = set(multiprocessing.active_children())
    recognizer = ProcessRecognizer(time_limit_s=60, workers=1)
    try:
        assert await recognizer.read(photo) is not None  # the worker started
        recognizer.time_limit_s = 2.0
        started = time.monotonic()
        results = await asyncio.gather(*(recognizer.read(photo) for _ in range(20)))  # a crowd at once
        waited = time.monotonic() - started
        assert waited < 4  # nobody waited beyond the limit (and the kill), however long the queue
        assert any(r is not None for r in results) and any(r is None for r in results)
    finally:
        await recognizer.close()
    assert set(multiprocessing.active_children()) <= others
