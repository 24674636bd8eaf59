"""A replaced meter: its new serial, the day it was installed, its first value and a photo of the act.

Asked after the resident says the meter was replaced (a value below the previous one). Every answer
but the serial may be skipped: a resident in a hurry still hands the reading in. What is known goes
with the reading to the supplier's export.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from core.conversation import Step, Turn
from core.events import PhotoReceived
from core.reading_parser import ParseError, parse_reading
from bot.dialogs.common import go_menu, unit_text
from bot.dialogs.submission import current_meter, keep_photo, record_replaced

SERIAL = re.compile(r"^[0-9A-Za-zА-Яа-яІіЇїЄєҐґ][0-9A-Za-zА-Яа-яІіЇїЄєҐґ ./\-]{0,39}$")
DATE = re.compile(r"^(\d{1,2})[./\-](\d{1,2})(?:[./\-](\d{2}|\d{4}))?$")
OLDEST_INSTALLATION = timedelta(days=400)  # a replacement the resident tells us about is recent


async def meter_replaced(turn: Turn, _: str) -> None:
    draft = turn.data.get("draft")
    if draft is None or "candidate" not in draft:
        await _gone(turn)
        return
    draft["replacement"] = {}
    await turn.goto("new_meter_serial")


def _replacement(turn: Turn) -> dict[str, str] | None:
    draft = turn.data.get("draft")
    return draft.get("replacement") if draft is not None and "candidate" in draft else None


async def enter_serial(turn: Turn) -> None:
    turn.say("new_meter_serial", buttons=((turn.button("btn_type_again", "again"),),))


async def serial_typed(turn: Turn, text: str) -> None:
    replacement = _replacement(turn)
    if replacement is None:
        await _gone(turn)
        return
    serial = " ".join(text.split())
    if not SERIAL.match(serial):
        turn.say("new_meter_serial_bad", buttons=((turn.button("btn_type_again", "again"),),))
        return
    replacement["serial"] = serial
    await turn.goto("new_meter_date")


async def enter_date(turn: Turn) -> None:
    turn.say("new_meter_date", example=turn.now.date(), buttons=(
        (turn.button("btn_installed_today", "today"), turn.button("btn_skip", "skip")),))


async def date_typed(turn: Turn, text: str) -> None:
    replacement = _replacement(turn)
    if replacement is None:
        await _gone(turn)
        return
    today = turn.now.date()
    installed = _parse_date(text.strip(), today)
    if installed is None or installed > today or installed < today - OLDEST_INSTALLATION:
        turn.say("new_meter_date_bad", example=today, buttons=(
            (turn.button("btn_installed_today", "today"), turn.button("btn_skip", "skip")),))
        return
    replacement["installed"] = installed.isoformat()
    await turn.goto("new_meter_start")


def _parse_date(text: str, today: date) -> date | None:
    match = DATE.match(text)
    if not match:
        return None
    day, month, year = int(match.group(1)), int(match.group(2)), match.group(3)
    full_year = today.year if year is None else int(year) + (2000 if len(year) == 2 else 0)
    try:
        return date(full_year, month, day)
    except ValueError:
        return None


async def installed_today(turn: Turn, _: str) -> None:
    replacement = _replacement(turn)
    if replacement is None:
        await _gone(turn)
        return
    replacement["installed"] = turn.now.date().isoformat()
    await turn.goto("new_meter_start")


async def skip_date(turn: Turn, _: str) -> None:
    await turn.goto("new_meter_start")


async def enter_start(turn: Turn) -> None:
    turn.say("new_meter_start", buttons=((turn.button("btn_dont_know", "skip"),),))


async def start_typed(turn: Turn, text: str) -> None:
    replacement = _replacement(turn)
    current = await current_meter(turn)
    if replacement is None or current is None:
        await _gone(turn)
        return
    service = current.service
    value = Decimal(current.draft["candidate"]["value"])
    start = parse_reading(text, digits=service.digits, decimals=service.decimals, unit=service.unit)
    if isinstance(start, ParseError) or start > value:
        turn.say("new_meter_start_bad", value=value, unit=unit_text(service.unit),
                 buttons=((turn.button("btn_dont_know", "skip"),),))
        return
    replacement["start"] = str(start)
    await turn.goto("new_meter_act")


async def skip_start(turn: Turn, _: str) -> None:
    await turn.goto("new_meter_act")


async def enter_act(turn: Turn) -> None:
    turn.say("new_meter_act", buttons=((turn.button("btn_skip", "skip"),),))


async def act_photo(turn: Turn, photo: PhotoReceived) -> None:
    name = await keep_photo(turn, photo)
    if name is None:
        await turn.refresh()
        return
    turn.say("photo_attached")
    await _done(turn, evidence=name)


async def skip_act(turn: Turn, _: str) -> None:
    await _done(turn, evidence=None)


async def _done(turn: Turn, evidence: str | None) -> None:
    if _replacement(turn) is None:
        await _gone(turn)
        return
    await record_replaced(turn, evidence)


async def type_again(turn: Turn, _: str) -> None:
    draft = turn.data.get("draft", {})
    draft.pop("candidate", None)
    draft.pop("replacement", None)
    await turn.goto("meter_value")


async def _gone(turn: Turn) -> None:
    turn.say("draft_gone")
    await go_menu(turn)


REPLACEMENT_STEPS = {
    "new_meter_serial": Step(enter_serial, buttons={"again": type_again}, text=serial_typed),
    "new_meter_date": Step(enter_date, buttons={"today": installed_today, "skip": skip_date}, text=date_typed),
    "new_meter_start": Step(enter_start, buttons={"skip": skip_start}, text=start_typed),
    "new_meter_act": Step(enter_act, buttons={"skip": skip_act}, photo=act_photo),
}
